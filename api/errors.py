"""How the API says no: every refusal is `{"detail": "<message for people>"}` with a
status that says what kind of no it is."""

from __future__ import annotations


class ApiRefusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message
