from __future__ import annotations

from ninja import Router, Status

from accounts.models import Membership

from ..schemas import TeamOut, answers

router = Router(tags=["teams"])


@router.get("/teams", response=answers({200: list[TeamOut]}),
            summary="Teams the caller belongs to")
def team_list(request):
    memberships = (Membership.objects.filter(user=request.auth).select_related("team")
                   .order_by("team__name", "team__pk"))
    return Status(200, [{"slug": m.team.slug, "name": m.team.name, "role": m.role}
                        for m in memberships])
