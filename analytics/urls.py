from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("", views.dataset_list, name="dataset_list"),
    path("new/", views.dataset_upload, name="dataset_upload"),
    path("new/<str:token>/", views.dataset_mapping, name="dataset_mapping"),
    path("<int:dataset_id>/", views.dataset_detail, name="dataset_detail"),
]
urlpatterns += [
    path("checks/<int:check_id>/", views.check_status, name="check_status"),
    path("<int:dataset_id>/values/", views.values_ensure, name="values_ensure"),
]
