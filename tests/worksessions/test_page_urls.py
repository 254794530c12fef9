"""The session page's URLs are worked out once per session (sessions.page._urls): they must
be what reverse() gives, and follow the team's slug."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import Team
from sessions.page import _urls


def test_the_kept_urls_are_reverses_and_follow_the_team_slug(session):
    urls = _urls(session)
    kwargs = {"team_slug": session.team.slug, "session_id": session.pk}
    assert urls["finding_create"] == reverse("worksessions:finding_create", kwargs=kwargs)
    assert urls["entry_create"] == reverse("worksessions:hypothesis_create", kwargs=kwargs)
    assert len(urls) == 20 and all(session.team.slug in url for url in urls.values())
    urls["mine"] = "/changed/"  # a caller's changes stay its own
    assert "mine" not in _urls(session)

    Team.objects.filter(pk=session.team.pk).update(slug="renamed-team")
    session.team.refresh_from_db()
    assert all("/renamed-team/" in url for url in _urls(session).values())
