from django.contrib import admin
from django.urls import include, path

from . import views

team_patterns = [
    path("data/", include("analytics.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("t/<slug:team_slug>/", include(team_patterns)),
    path("", include("accounts.urls")),
]
