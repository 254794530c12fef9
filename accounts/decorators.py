from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .selectors import membership_for
from .services import membership_visit

SESSION_TEAM_KEY = "team_slug"


def team_member_required(view):
    """For views under /t/<team_slug>/: signs the user in, answers 404 to non-members, and
    sets request.team and request.membership. The view receives `team_slug` as usual."""

    @login_required
    @wraps(view)
    def wrapper(request, team_slug: str, *args, **kwargs):
        membership = membership_for(request.user, team_slug)
        request.membership = membership
        request.team = membership.team
        if request.session.get(SESSION_TEAM_KEY) != team_slug:
            # Only on switching teams, so that a page view does not cost a write.
            request.session[SESSION_TEAM_KEY] = team_slug
            membership_visit(membership=membership)
        return view(request, team_slug, *args, **kwargs)

    return wrapper


def team_owner_required(view):
    """Like team_member_required, and only owners may go on (others get 404 as well, so
    that the page's existence is not revealed to a member probing owner actions)."""

    @team_member_required
    @wraps(view)
    def wrapper(request, team_slug: str, *args, **kwargs):
        if not request.membership.is_owner:
            raise Http404("Only owners may do this")
        return view(request, team_slug, *args, **kwargs)

    return wrapper
