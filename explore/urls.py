from django.urls import path

from . import views

app_name = "explore"
urlpatterns = [
    path("", views.home, name="home"),
    path("breakdown/", views.breakdown, name="breakdown"),
    path("compare/", views.compare, name="compare"),
    path("confounding/", views.stratify, name="stratify"),
    path("sql/", views.console, name="console"),
    path("results/<int:job_id>/", views.result, name="result"),
    path("results/<int:job_id>/live/", views.result_live, name="result_live"),
    path("results/<int:job_id>/csv/", views.result_csv, name="result_csv"),
    path("results/<int:job_id>/finding/", views.result_finding, name="result_finding"),
    path("findings/<int:finding_id>/attach/", views.finding_attach, name="finding_attach"),
]
