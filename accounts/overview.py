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
hides the section for that request (nothing to show yet).

The "Get started" checklist is built the same way: each app registers the steps it can
check from its own data (accounts sits below them and reads none of it):

    register_check(ChecklistStep(
        key="dataset", title="Import your data", text="...", url_name="analytics:dataset_list",
        done=lambda team: ready_datasets_of(team).exists(), order=10))"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

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


@dataclass(frozen=True)
class ChecklistStep:
    key: str
    title: str
    text: str
    url_name: str  # reversed with team_slug; a step whose page does not exist is left out
    done: Callable[[Team], bool]
    order: int = 100


_checks: dict[str, ChecklistStep] = {}


def register_check(step: ChecklistStep) -> None:
    _checks[step.key] = step


def unregister_check(key: str) -> None:
    _checks.pop(key, None)


def checklist_for(team: Team) -> list[dict]:
    """The get-started steps, in order, each as {"key", "title", "text", "url", "done"}:
    done from the team's own data, so the list completes as the team works."""
    steps = []
    for step in sorted(_checks.values(), key=lambda s: (s.order, s.key)):
        try:
            url = reverse(step.url_name, kwargs={"team_slug": team.slug})
        except NoReverseMatch:  # an app still being built
            continue
        steps.append({"key": step.key, "title": step.title, "text": step.text, "url": url,
                      "done": bool(step.done(team))})
    return steps
