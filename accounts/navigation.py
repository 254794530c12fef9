"""The header's team switcher and navigation, computed lazily: a page that does not render
the header (an htmx fragment) costs no query."""

from functools import cached_property

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from .models import Team
from .selectors import teams_of

# Other apps add their pages under these names; until a name exists its item is left out.
NAV_ITEMS: tuple[tuple[str, str], ...] = (
    ("Team", "accounts:team_home"),
    ("Sessions", "worksessions:session_list"),
    ("Dashboards", "dashboards:dashboard_list"),
    ("Test and learn", "explore:home"),
    ("Data", "analytics:dataset_list"),
)


class TeamNav:
    def __init__(self, request: HttpRequest):
        self.request = request

    @cached_property
    def teams(self) -> list[Team]:
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        return list(teams_of(user))

    @cached_property
    def team(self) -> Team | None:
        """The team the header is about: the page's team, or on pages outside any team
        (account settings) the one this browser session last worked in."""
        team = getattr(self.request, "team", None)
        if team is not None:
            return team
        slug = getattr(self.request, "session", {}).get("team_slug")
        return next((t for t in self.teams if t.slug == slug), None) if slug else None

    @cached_property
    def items(self) -> list[dict]:
        team = self.team
        if team is None:
            return []
        match = getattr(self.request, "resolver_match", None)
        in_team = match is not None and "team_slug" in match.kwargs
        items = []
        for label, url_name in NAV_ITEMS:
            try:
                url = reverse(url_name, kwargs={"team_slug": team.slug})
            except NoReverseMatch:
                continue
            namespace = url_name.split(":", 1)[0]
            items.append(
                {
                    "label": label,
                    "url": url,
                    "active": in_team and namespace in match.namespaces,
                }
            )
        return items
