"""How the API says no: every refusal is `{"detail": "<message for people>"}` with a
status that says what kind of no it is."""

from __future__ import annotations

from analytics.engine.refusals import Refused


class ApiRefusal(Refused):
    def __init__(self, status: int, message: str):
        super().__init__(message, status=status)
