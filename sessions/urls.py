from django.urls import path

from . import views

app_name = "worksessions"

session = "<int:session_id>/"
entry = session + "entries/<int:entry_id>/"

urlpatterns = [
    path("", views.session_list, name="session_list"),
    path("new/", views.session_create, name="session_create"),
    path("members/<int:user_id>/", views.member_record, name="member_record"),
    path(session, views.session_detail, name="session_detail"),
    path(session + "live/", views.session_live, name="session_live"),
    path(session + "move/", views.session_move, name="session_move"),
    path(session + "close/", views.session_close, name="session_close"),
    path(session + "settings/", views.session_settings, name="session_settings"),
    path(session + "timer/extend/", views.timer_extend, name="timer_extend"),
    path(session + "reveal/", views.entries_reveal, name="entries_reveal"),
    path(session + "definition/confirm/", views.definition_confirm, name="definition_confirm"),
    path(session + "definition/change/", views.definition_change, name="definition_change"),
    path(session + "definition/revise/", views.definition_revise, name="definition_revise"),
    path(session + "entries/new/", views.hypothesis_create, name="hypothesis_create"),
    path(entry + "edit/", views.hypothesis_edit, name="hypothesis_edit"),
    path(entry + "delete/", views.hypothesis_delete, name="hypothesis_delete"),
    path(entry + "rank/", views.hypothesis_rerank, name="hypothesis_rerank"),
    path(entry + "test/", views.hypothesis_test, name="hypothesis_test"),
    path(session + "tests/run-all/", views.tests_run_all, name="tests_run_all"),
    path(session + "discover/", views.discovery_run, name="discovery_run"),
    path(session + "discover/<int:discovery_id>/adopt/<int:index>/", views.suggestion_adopt,
         name="suggestion_adopt"),
    path(session + "findings/new/", views.finding_create, name="finding_create"),
    path(session + "findings/<int:finding_id>/delete/", views.finding_delete,
         name="finding_delete"),
    path(session + "next-steps/new/", views.next_step_create, name="next_step_create"),
    path(session + "next-steps/<int:next_step_id>/done/", views.next_step_done,
         name="next_step_done"),
    path(session + "timebox/", views.timebox_set, name="timebox_set"),
    path(session + "vote/open/", views.vote_open, name="vote_open"),
    path(session + "vote/close/", views.vote_close, name="vote_close"),
    path(entry + "dot/", views.dot_place, name="dot_place"),
    path(entry + "dot/remove/", views.dot_remove, name="dot_remove"),
    path(session + "tests/run-vote-order/", views.tests_run_vote_order,
         name="tests_run_vote_order"),
    path(session + "report/", views.session_report, name="session_report"),
    path(session + "report.md", views.session_report_md, name="session_report_md"),
]

# A finding pinned to a dashboard: asked for on the dashboard's page, so hypothesislab.urls
# mounts these under the dashboards' URLs and namespace (dashboards:pin_create...), while
# the code stays here, above dashboards.
dashboard_pin_patterns = [
    path("<int:dashboard_id>/pins/", views.pin_create, name="pin_create"),
    path("<int:dashboard_id>/pins/<int:pin_id>/delete/", views.pin_delete, name="pin_delete"),
]
