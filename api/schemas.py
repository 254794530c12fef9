"""What the API reads and writes, as the OpenAPI document describes it. Definitions
(success, criterion, breakdown) and results stay free-form JSON objects: their shape is
definitions.md's, checked by the engine, and results are passed on exactly as stored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, FiniteFloat, StrictFloat, StrictInt, StrictStr

JsonObject = dict[str, Any]
Scalar = str | int | FiniteFloat | bool | None

MAX_BATCH_EVENTS = 10_000
# Epoch seconds of the times that can be stored: 0001-01-01 to 9999-12-31 23:59:59 UTC
# (analytics.engine.importing.columns.TIME_MIN and TIME_MAX).
EPOCH_MIN = -62_135_596_800
EPOCH_MAX = 253_402_300_799
# Strict: JSON's true and false are not 1 and 0 here (pydantic's lax mode would make
# `"timestamp": false` 1970-01-01), and a whole number in a float is still a number.
EpochSeconds = Annotated[StrictInt, Field(ge=EPOCH_MIN, le=EPOCH_MAX)] | Annotated[
    StrictFloat, Field(ge=EPOCH_MIN, le=EPOCH_MAX, allow_inf_nan=False)]


class Error(Schema):
    detail: str


class ValidationErrors(Schema):
    detail: list[JsonObject]


class TeamOut(Schema):
    slug: str
    name: str
    role: Literal["owner", "member"]


class ImportOut(Schema):
    id: int
    dataset_id: int
    kind: Literal["create", "append"]
    version: int
    status: Literal["queued", "running", "done", "failed"]
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class DatasetOut(Schema):
    id: int
    name: str
    description: str
    status: Literal["queued", "running", "ready", "failed"] = Field(
        description="ready once a version is published (an append in progress keeps the "
                    "dataset ready); otherwise the state of its first import")
    current_version: int | None
    created_at: datetime
    n_users: int | None
    n_events: int | None
    data_start: str | None
    data_end: str | None
    events: dict[str, int]
    event_properties: dict[str, str]
    user_properties: dict[str, str]
    latest_import: ImportOut | None


class DatasetCreated(Schema):
    dataset: DatasetOut
    import_: ImportOut = Field(alias="import")

    model_config = ConfigDict(populate_by_name=True)


class EventIn(Schema):
    """One event, as definitions.md section 1 describes it."""

    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[StrictStr, Field(max_length=200, pattern=r"\S")] | StrictInt = Field(
        description="who did it (text or integer, not empty)")
    event: StrictStr = Field(min_length=1, max_length=200, pattern=r"\S")
    timestamp: Annotated[StrictStr, Field(min_length=1, max_length=100)] | EpochSeconds = Field(
        description="ISO 8601 with or without offset (naive is UTC), or epoch seconds "
                    "(a number, never true or false); times go from year 1 to year 9999")
    properties: dict[str, Scalar] | None = Field(
        default=None, description="event properties; each key becomes a property")


class EventBatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH_EVENTS)
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=100,
        description="or the Idempotency-Key header: a retried call with the same key "
                    "adds nothing and returns the first call's import")


class EventBatchOut(Schema):
    created: bool = Field(description="false when this idempotency key was seen before")
    import_: ImportOut = Field(alias="import")

    model_config = ConfigDict(populate_by_name=True)


class SuccessDefinitionOut(Schema):
    id: int
    name: str
    version: int
    definition: JsonObject
    description: str
    created_at: datetime


class SuccessDefinitionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120, pattern=r"\S")
    definition: JsonObject = Field(description="definitions.md section 2")
    dataset_id: int = Field(description="the dataset whose events and properties the "
                                        "definition is checked against")


class AnalysisIn(Schema):
    model_config = ConfigDict(extra="forbid")

    dataset_id: int
    success_definition_id: int | None = Field(
        default=None, description="one of the team's success definitions, or `success`")
    success: JsonObject | None = Field(default=None, description="definitions.md section 2")
    criterion: JsonObject | None = Field(
        default=None, description="definitions.md section 3 (or a `{\"breakdown\": ...}` "
                                  "object, as the CLI's --criterion accepts)")
    breakdown: JsonObject | None = Field(default=None, description="definitions.md section 4")


class AnalysisOut(Schema):
    id: int
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    error: str
    dataset_id: int
    dataset_version: int
    success: JsonObject
    criterion: JsonObject | None
    breakdown: JsonObject | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: JsonObject | None = Field(
        description="when done: exactly what `manage.py analyze` prints "
                    "(definitions.md section 6)")


class SessionOut(Schema):
    id: int
    title: str
    step: str
    step_label: str
    dataset_id: int
    success_definition_id: int
    facilitator: str | None
    created_at: datetime
    closed_at: datetime | None


class HypothesisIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=500, pattern=r"\S")
    kind: Literal["hypothesis", "idea"] = "hypothesis"
    criterion: JsonObject | None = Field(default=None, description="definitions.md section 3")
    expected_direction: Literal["", "more", "less", "different"] = Field(
        default="", description="what the author expects of these users: that they succeed "
        "more often, less often, or at a different rate (either way) than the rest; "
        "\"\" (not said) is judged as \"more\"")
    confidence: Literal[50, 65, 80, 95] | None = None


class HypothesisOut(Schema):
    id: int
    kind: str
    rank: int
    text: str
    criterion: JsonObject | None
    expected_direction: str
    confidence: int | None
    revealed: bool
    created_at: datetime


class ReportResult(Schema):
    test_id: int
    status: str
    error: str
    criterion: JsonObject
    description: str
    population: JsonObject | None
    group: JsonObject | None
    rest: JsonObject | None
    diff: float | None
    lift: float | None
    lift_ci95: list[float | None] | None
    p_value: float | None
    test: str | None
    note: str | None
    q_value: float | None = Field(description="Benjamini-Hochberg over the session's tests")
    expected: Literal["more", "less", "different"] = Field(
        description="the direction the verdict is judged against: the entry's "
                    "expected_direction, or \"more\" when none was said (for the unsuccessful "
                    "side, the same expectation read for users who did not succeed)")
    verdict: Literal["supported", "contradicted", "inconclusive", "not enough data"] | None = \
        Field(description="judged against `expected`: supported when q < 0.05 that way, "
                          "contradicted when q < 0.05 the other way, inconclusive, or not "
                          "enough data (fewer than 30 users in the group or the rest); null "
                          "while the test runs or when it failed")
    direction: Literal["more", "less"] | None = Field(
        description="where the data goes, whatever was expected: the group succeeds more or "
                    "less often than the rest at q < 0.05; null otherwise")
    sentence: str
    overlap_warning: str | None


class ReportEntry(HypothesisOut):
    author: str | None
    result: ReportResult | None = Field(description="its latest test")
    unsuccessful_side: ReportResult | None = Field(
        description="the same test read for users who did not succeed")
    earlier_tests: int


class ReportFinding(Schema):
    id: int
    author: str | None
    step: str
    kind: str
    text: str
    test_id: int | None
    evidence: JsonObject | None
    created_at: datetime


class ReportNextStep(Schema):
    id: int
    kind: str
    text: str
    owner: str | None
    due_date: date | None
    done_at: datetime | None


class ReportVoteLine(Schema):
    hypothesis_id: int
    text: str
    author: str | None
    dots: int


class ReportVote(Schema):
    dots_per_member: int
    voters: int = Field(description="members who placed at least one dot")
    opened_at: datetime
    closed_at: datetime
    totals: list[ReportVoteLine] = Field(description="most dots first")


class SessionReportOut(Schema):
    """What the session's report page shows."""

    session: SessionOut
    dataset: JsonObject
    success_definition: JsonObject
    counts: dict[str, int] = Field(
        description="the latest test of each entry, by state: supported, contradicted, "
                    "inconclusive, not enough data, running, failed (all present; they add "
                    "up to the number of latest tests)")
    family_size: int = Field(description="tests in the session's Benjamini-Hochberg family")
    hypotheses: list[ReportEntry]
    ideas: list[ReportEntry]
    hidden_entries: int = Field(description="entries not revealed yet (an open session)")
    findings: list[ReportFinding]
    next_steps: list[ReportNextStep]
    participants: list[str]
    vote: ReportVote | None = Field(default=None,
                                    description="the session's last closed dot vote")


def answers(ok: dict[int, Any], *refusals: int) -> dict[int, Any]:
    """An operation's documented responses: its success, 401 (no valid token), 404 (no
    such team or object for the caller), 422 (a request that breaks this document) and
    the refusals it names (400 bad input, 403 not allowed, 409 not now)."""
    documented: dict[int, Any] = dict(ok)
    for status in (*refusals, 401, 404):
        documented[status] = Error
    documented[422] = ValidationErrors
    return dict(sorted(documented.items()))
