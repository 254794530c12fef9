"""Sections of a team's overview page (`accounts:team_home`) that other apps contribute.

An app registers a section once, from its AppConfig.ready():

    from accounts.overview import OverviewSection, register_section

    register_section(OverviewSection(
        key="recent-sessions",
        title="Recent sessions",
        template="worksessions/_overview_recent.html",
        context=lambda request, team: {"sessions": recent_sessions(team)},
        order=20,
    ))

The template is rendered inside a `.card` under the section's title; its context is
what `context` returns plus `team` and `request` (and the context processors'). Returning None from `context`
hides the section for that request (nothing to show yet)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string

from .models import Team


@dataclass(frozen=True)
class OverviewSection:
    key: str
    title: str
    template: str
    context: Callable[[HttpRequest, Team], dict | None] | None = None
    order: int = 100


_sections: dict[str, OverviewSection] = {}


def register_section(section: OverviewSection) -> None:
    # Keyed, so that a module imported twice (autoreload, tests) does not add it twice.
    _sections[section.key] = section


def unregister_section(key: str) -> None:
    _sections.pop(key, None)


def sections_for(request: HttpRequest, team: Team) -> list[dict]:
    """The sections to show, in order, each as {"key", "title", "html"}."""
    shown = []
    for section in sorted(_sections.values(), key=lambda s: (s.order, s.key)):
        extra = section.context(request, team) if section.context else {}
        if extra is None:
            continue
        shown.append(
            {
                "key": section.key,
                "title": section.title,
                "html": render_to_string(
                    section.template, {**extra, "team": team}, request=request
                ),
            }
        )
    return shown
