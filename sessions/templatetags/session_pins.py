"""The findings pinned to a dashboard and those that could be, for the dashboard's page:
sessions owns pins (it sits above dashboards), so the dashboard's template asks here
instead of its view importing sessions.
Usage: {% load session_pins %}{% dashboard_pins dashboard as pins %}"""

from __future__ import annotations

from django import template

from sessions import selectors

register = template.Library()


@register.simple_tag
def dashboard_pins(dashboard):
    return selectors.pins_of(dashboard)


@register.simple_tag
def findings_to_pin(dashboard):
    """The dashboard's team's recent findings not pinned to it yet."""
    return selectors.findings_to_pin(dashboard.team, dashboard)
