"""Success definitions: the team's current ones, and new ones checked against a dataset."""

from __future__ import annotations

from ninja import Router, Status

from analytics import selectors, services
from analytics.engine.definitions import DefinitionError
from analytics.models import SuccessDefinition

from ..errors import ApiRefusal
from ..schemas import SuccessDefinitionIn, SuccessDefinitionOut, answers
from ..scoping import team_of

router = Router(tags=["success definitions"])


def definition_out(row: SuccessDefinition) -> dict:
    return {"id": row.pk, "name": row.name, "version": row.version,
            "definition": row.definition, "description": row.description,
            "created_at": row.created_at}


@router.get("/teams/{team_slug}/success-definitions",
            response=answers({200: list[SuccessDefinitionOut]}),
            summary="The team's success definitions (current versions)")
def definition_list(request, team_slug: str):
    team = team_of(request, team_slug)
    rows = selectors.success_definitions_of(team)
    return Status(200, [definition_out(row) for row in rows])


@router.post("/teams/{team_slug}/success-definitions",
             response=answers({201: SuccessDefinitionOut}, 400, 409),
             summary="Save a named success definition")
def definition_create(request, team_slug: str, payload: SuccessDefinitionIn):
    team = team_of(request, team_slug)
    dataset = selectors.dataset_of(team, payload.dataset_id)
    if not dataset.is_ready:
        raise ApiRefusal(409, "The dataset has no imported data yet to check the "
                              "definition against.")
    name = " ".join(payload.name.split())
    if not name:
        raise ApiRefusal(400, "Give the definition a name.")
    try:
        row = services.success_definition_create(team=team, name=name,
                                                 definition=payload.definition,
                                                 created_by=request.auth, dataset=dataset)
    except DefinitionError as error:
        raise ApiRefusal(400, f"The success definition cannot be used: {error}.") from None
    return Status(201, definition_out(row))
