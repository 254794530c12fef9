"""HypothesisLab's JSON API v1, mounted at /api/v1/: the OpenAPI document is
/api/v1/openapi.json and the browsable docs /api/v1/docs.

Every operation needs `Authorization: Bearer <personal token>` (401 without one) and
everything under /teams/{team_slug}/ answers 404 to a caller outside the team, exactly
as pages do, so an id from another team is indistinguishable from a missing one."""

from __future__ import annotations

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from .auth import TokenAuth
from .errors import ApiRefusal
from .routers import analyses, datasets, sessions, success, teams

DESCRIPTION = """
Load events from a pipeline, run tests, pull session reports into a wiki.

**Authentication.** Create a personal token on the *API tokens* page of your account and
send it as `Authorization: Bearer <token>`. A token acts as you, in every team you belong
to; revoke it there when it is no longer needed.

**Errors.** Refusals are `{"detail": "..."}`: 400 bad input, 401 no valid token, 403 not
allowed (e.g. not the author), 404 no such object *for you* (other teams' objects
included), 409 not now (a closed step, a dataset still importing), 422 a request that does
not match this document.

**Definitions.** Success definitions, criteria, breakdowns and results follow the
analysis contract, [definitions.md](/docs/definitions/) ([as Markdown](/docs/definitions.md));
"definitions.md section N" below means its section N.

**Results** are exactly what `manage.py analyze` prints
([definitions.md section 6](/docs/definitions/#6-the-command-line-for-scripts-notebooks-and-checks)).
Session reports add verdicts judged against each hypothesis' stated expectation
([section 5, Verdicts](/docs/definitions/#verdicts)).
"""

class HypothesisLabAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        # The view's own name (dataset_list, events_append...), unique across routers.
        return operation.view_func.__name__


api = HypothesisLabAPI(
    title="HypothesisLab API",
    version="1",
    description=DESCRIPTION.strip(),
    urls_namespace="api_v1",
    auth=TokenAuth(),
)

for module in (teams, datasets, success, analyses, sessions):
    api.add_router("", module.router)


@api.exception_handler(ApiRefusal)
def refused(request, exc: ApiRefusal):
    return api.create_response(request, {"detail": exc.message}, status=exc.status)


@api.exception_handler(Http404)
def not_found(request, exc: Http404):
    # One answer for "missing" and "another team's": nothing to learn by probing ids.
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def unauthorized(request, exc: AuthenticationError):
    response = api.create_response(
        request, {"detail": "Send a valid personal API token: Authorization: Bearer <token>."},
        status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response
