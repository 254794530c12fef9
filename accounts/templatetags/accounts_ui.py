"""Small template helpers for the shared layout: initials and a stable colour per name."""

import zlib
from datetime import datetime

from django import template
from django.utils.timesince import timeuntil

register = template.Library()

AVATAR_COLOURS = 8


@register.filter
def initials(name: object) -> str:
    """"Olivia Owner" -> "OO", "acme" -> "A", "Ada (facilitator)" -> "AF"."""
    # Only words that start with a letter or digit: punctuation makes no initial.
    cleaned = "".join(c if c.isalnum() else " " for c in str(name))
    words = [w for w in cleaned.split() if w]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][0].upper()
    return (words[0][0] + words[1][0]).upper()


@register.filter
def avatar_class(name: object) -> str:
    # A class, not an inline style, so that a Content-Security-Policy can forbid those.
    return f"avatar-c{zlib.crc32(str(name).encode()) % AVATAR_COLOURS}"


@register.filter
def time_left(value: datetime) -> str:
    """"6 days" rather than Django's "6 days, 23 hours": enough to decide, easier to read."""
    return timeuntil(value, depth=1)
