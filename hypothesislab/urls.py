from django.contrib import admin
from django.urls import include, path

from api.api import api
from dashboards import urls as dashboard_urls
from sessions import urls as session_urls

from . import docs, views

team_patterns = [
    path("data/", include("analytics.urls")),
    path("sessions/", include("sessions.urls")),
    # Pins are sessions' code on the dashboards' URLs and names (see sessions/urls.py).
    path("dashboards/", include((dashboard_urls.urlpatterns
                                 + session_urls.dashboard_pin_patterns, "dashboards"))),
    path("success/", include("dashboards.success_urls")),
    path("explore/", include("explore.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", docs.favicon, name="favicon"),
    # The analysis contract, for people and as written (forms and the API docs link it).
    path("docs/definitions/", docs.document, {"name": "definitions"}, name="docs_definitions"),
    path("docs/definitions.md", docs.document_source, {"name": "definitions"},
         name="docs_definitions_source"),
    path("api/v1/", api.urls),
    path("account/tokens/", include("api.urls")),
    path("t/<slug:team_slug>/", include(team_patterns)),
    path("", include("accounts.urls")),
]
