"""Every URL pattern of the project, found by walking the root resolver, so that a route
added by any app is walked too."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

API_NAMESPACE = "api_v1"
ADMIN_NAMESPACE = "admin"


@dataclass(frozen=True)
class Route:
    route: str  # the pattern as written, e.g. "t/<slug:team_slug>/data/<int:dataset_id>/"
    name: str  # "namespace:name"
    keywords: tuple[str, ...]

    @property
    def namespace(self) -> str:
        return self.name.split(":", 1)[0] if ":" in self.name else ""

    @property
    def is_team_scoped(self) -> bool:
        return "team_slug" in self.keywords

    @property
    def object_keywords(self) -> tuple[str, ...]:
        return tuple(k for k in self.keywords if k != "team_slug")


_KEYWORD = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


def all_routes() -> list[Route]:
    found: list[Route] = []
    _walk(get_resolver().url_patterns, "", (), found)
    return found


def _walk(patterns, prefix: str, namespaces: tuple[str, ...], found: list[Route]) -> None:
    for pattern in patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            spaces = namespaces + ((pattern.namespace,) if pattern.namespace else ())
            _walk(pattern.url_patterns, text, spaces, found)
        elif isinstance(pattern, URLPattern):
            keywords = tuple(a or b for a, b in _KEYWORD.findall(text))
            name = ":".join(namespaces + (pattern.name or "<unnamed>",))
            found.append(Route(route=text, name=name, keywords=keywords))


def fill(route: Route, values: dict) -> str:
    """The route's URL with its keywords replaced by `values` (path converters and the
    admin's regex patterns alike)."""
    text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route.route)
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), text)
    return "/" + text.replace("^", "").replace("$", "")
