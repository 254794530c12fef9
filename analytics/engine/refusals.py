"""The one base of every refusal: a request that cannot be honoured, with a sentence for
people and the HTTP status that says which kind of no it is.

Each app names its own refusals (DatasetRefused, SessionRefused, ImportRefused...) so that
its callers can tell them apart; code that only has to turn any refusal into an answer
catches `Refused` and reads `message` and `status`."""

from __future__ import annotations


class Refused(Exception):
    """`message` is what a person reads; `status` is the HTTP status a view answers with
    (400 unless the class or the raiser says otherwise)."""

    status: int = 400

    def __init__(self, message: str = "", *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
