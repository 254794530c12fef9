from __future__ import annotations

from ninja import Router, Status

from accounts.models import Membership

from ..schemas import Error, TeamOut

router = Router(tags=["teams"])


@router.get("/teams", response={200: list[TeamOut], 401: Error},
            summary="Teams the caller belongs to")
def team_list(request):
    memberships = (Membership.objects.filter(user=request.auth).select_related("team")
                   .order_by("team__name", "team__pk"))
    return Status(200, [{"slug": m.team.slug, "name": m.team.name, "role": m.role}
                        for m in memberships])
