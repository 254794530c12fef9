from django.urls import path

from . import views

# hypothesislab.urls mounts these with the pin routes (sessions.urls.dashboard_pin_patterns)
# in one "dashboards" namespace: dashboards:pin_create and dashboards:pin_delete.
app_name = "dashboards"
urlpatterns = [
    path("", views.dashboard_list, name="dashboard_list"),
    path("new/", views.dashboard_create, name="dashboard_create"),
    path("<int:dashboard_id>/", views.dashboard_detail, name="dashboard_detail"),
    path("<int:dashboard_id>/segments/", views.dashboard_segments, name="dashboard_segments"),
    path("<int:dashboard_id>/compute/", views.dashboard_refresh, name="dashboard_refresh"),
    path("<int:dashboard_id>/confirm/", views.dashboard_confirm, name="dashboard_confirm"),
    path("<int:dashboard_id>/review/", views.dashboard_review, name="dashboard_review"),
    path("<int:dashboard_id>/review/now/", views.snapshot_now, name="snapshot_now"),
    path("<int:dashboard_id>/review/print/", views.dashboard_review_print,
         name="dashboard_review_print"),
    path("<int:dashboard_id>/review/notes/", views.note_create, name="note_create"),
    path("segments/", views.team_segment_list, name="team_segment_list"),
    path("segments/new/", views.team_segment_create, name="team_segment_create"),
    path("data/<int:dataset_id>/mapping/", views.dataset_mapping, name="dataset_mapping"),
]
