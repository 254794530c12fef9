from django.urls import path

from . import success_views as views

app_name = "success"
urlpatterns = [
    path("", views.success_list, name="success_list"),
    path("new/", views.success_create, name="success_create"),
    path("<int:definition_id>/", views.success_detail, name="success_detail"),
]
