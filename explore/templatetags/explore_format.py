"""The explorer's own template filter: a result's title. Its numbers are formatted by
analytics' number_format filters."""

from __future__ import annotations

from django import template

from explore.snapshots import title_of, tool_of

register = template.Library()


@register.filter
def explore_title(job) -> str:
    return title_of(job)


@register.filter
def explore_tool(job) -> str:
    return tool_of(job)
