"""Hypotheses and new ideas: at most three of each per member, ranked 1-3, each optionally
with a criterion built in a form and checked against the dataset, and the author's
expectation stated before the first test."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from analytics.engine.definitions import DefinitionError, validate_criterion

from .. import steps
from ..models import MAX_ENTRIES_PER_KIND, Hypothesis, WorkingSession
from .errors import BadInput, LimitReached, NotAllowed
from .guards import fresh, record_change, require_open, require_participant, require_step_in

MAX_TEXT = 500
# A race for the last free place is retried this many times before giving up; each
# retry reads the places taken again, so the loser finds none and is told so.
PLACE_ATTEMPTS = MAX_ENTRIES_PER_KIND + 1

_NOUNS = {Hypothesis.Kind.HYPOTHESIS: ("hypothesis", "hypotheses"),
          Hypothesis.Kind.IDEA: ("new idea", "new ideas")}


def steps_for(kind: str) -> frozenset[str]:
    return steps.IDEA_STEPS if kind == Hypothesis.Kind.IDEA else steps.HYPOTHESIS_STEPS


def hypothesis_create(*, session: WorkingSession, author: User, text: str,
                      kind: str = Hypothesis.Kind.HYPOTHESIS, criterion: dict | None = None,
                      expected_direction: str = "", confidence: int | None = None,
                      origin: str = Hypothesis.Origin.OWN) -> Hypothesis:
    """Add the author's next hypothesis (or new idea) in the first free of their three
    places. The database refuses a fourth, even from two requests at the same moment."""
    session = fresh(session)
    require_open(session)
    if kind not in Hypothesis.Kind.values:
        raise BadInput(f"Unknown kind of entry {kind!r}.")
    singular, plural = _NOUNS[kind]
    require_step_in(session, steps_for(kind), plural.capitalize())
    require_participant(session, author)
    text = _clean_text(text, singular)
    criterion = clean_criterion(session, criterion)
    expected_direction, confidence = _clean_expectation(expected_direction, confidence)
    if origin not in Hypothesis.Origin.values:
        raise BadInput(f"Unknown origin {origin!r}.")
    mine = Hypothesis.objects.filter(session=session, author=author, kind=kind)
    for _ in range(PLACE_ATTEMPTS):
        taken = set(mine.values_list("slot", flat=True))
        free = [slot for slot in range(1, MAX_ENTRIES_PER_KIND + 1) if slot not in taken]
        if not free:
            break
        now = timezone.now()
        try:
            with transaction.atomic():
                hypothesis = Hypothesis.objects.create(
                    session=session, author=author, kind=kind, slot=free[0],
                    rank=min(len(taken) + 1, MAX_ENTRIES_PER_KIND), text=text,
                    criterion=criterion, origin=origin,
                    expected_direction=expected_direction, confidence=confidence,
                    revealed_at=None if session.hide_entries else now,
                    created_at=now, updated_at=now,
                )
                record_change(session)
        except IntegrityError:
            continue  # someone (the same member, from another tab) took that place first
        return hypothesis
    raise LimitReached(f"You already have {MAX_ENTRIES_PER_KIND} {plural} in this session: "
                       f"edit or remove one to add another.")


def hypothesis_update(*, hypothesis: Hypothesis, by: User, text: str,
                      criterion: dict | None, expected_direction: str = "",
                      confidence: int | None = None) -> Hypothesis:
    """The author rewrites an entry. The expectation cannot change once a test has run:
    it was a prediction, and the member page scores it."""
    session = fresh(hypothesis.session)
    _require_author(hypothesis, by)
    require_step_in(session, steps_for(hypothesis.kind), "Changes to entries")
    text = _clean_text(text, _NOUNS[hypothesis.kind][0])
    criterion = clean_criterion(session, criterion)
    expected_direction, confidence = _clean_expectation(expected_direction, confidence)
    tested = hypothesis.tests.exists()
    if tested and (expected_direction != hypothesis.expected_direction
                   or confidence != hypothesis.confidence):
        raise BadInput("Your expectation was recorded before the first test and stays as it "
                       "was.")
    with transaction.atomic():
        Hypothesis.objects.filter(pk=hypothesis.pk).update(
            text=text, criterion=criterion, expected_direction=expected_direction,
            confidence=confidence, updated_at=timezone.now())
        record_change(session)
    hypothesis.refresh_from_db()
    return hypothesis


def hypothesis_delete(*, hypothesis: Hypothesis, by: User) -> None:
    """Remove an untested entry. A tested one stays: its test is part of the session's
    family of tests, and dropping it would make the others' q-values look better."""
    session = fresh(hypothesis.session)
    _require_author(hypothesis, by)
    require_step_in(session, steps_for(hypothesis.kind), "Changes to entries")
    if hypothesis.tests.exists():
        raise BadInput("This one has been tested: it stays in the session's record. "
                       "Rewrite it instead, or leave it and add a finding.")
    with transaction.atomic():
        hypothesis.delete()
        _renumber(session, by, hypothesis.kind)
        record_change(session)


def hypothesis_rerank(*, hypothesis: Hypothesis, by: User, rank: int) -> None:
    """Put one of the author's entries at position `rank` (1 = most likely) and shift
    the others."""
    session = fresh(hypothesis.session)
    _require_author(hypothesis, by)
    require_step_in(session, steps_for(hypothesis.kind), "Changes to entries")
    with transaction.atomic():
        mine = list(Hypothesis.objects.select_for_update()
                    .filter(session=session, author=by, kind=hypothesis.kind)
                    .order_by("rank", "pk"))
        if not isinstance(rank, int) or not 1 <= rank <= len(mine):
            raise BadInput(f"Rank is a number from 1 to {len(mine)}.")
        ordered = [h for h in mine if h.pk != hypothesis.pk]
        ordered.insert(rank - 1, next(h for h in mine if h.pk == hypothesis.pk))
        _assign_ranks(ordered)
        record_change(session)


def clean_criterion(session: WorkingSession, criterion: dict | None) -> dict | None:
    """The criterion in its normalized form, checked against the session's dataset."""
    if criterion in (None, {}):
        return None
    schema = session.dataset.schema_object()
    if schema is None:
        raise BadInput("The dataset has no imported data yet.")
    try:
        return validate_criterion(criterion, schema)
    except DefinitionError as error:
        raise BadInput(f"The criterion cannot be tested: {error}.") from error


def _require_author(hypothesis: Hypothesis, by: User) -> None:
    if hypothesis.author_id != by.pk:
        raise NotAllowed("Only its author can change this entry.")
    require_participant(hypothesis.session, by)


def _clean_text(text: str, noun: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise BadInput(f"Write the {noun} in a sentence, e.g. “Users who invite a teammate in "
                       "their first week succeed more often”.")
    if len(text) > MAX_TEXT:
        raise BadInput(f"Keep it under {MAX_TEXT} characters ({len(text)} now).")
    return text


def _clean_expectation(direction: str, confidence) -> tuple[str, int | None]:
    direction = direction or ""
    if direction and direction not in Hypothesis.Direction.values:
        raise BadInput("The expected direction is “succeed more often”, “succeed less "
                       "often” or “succeed at a different rate”.")
    if confidence in ("", None):
        confidence = None
    else:
        try:
            confidence = int(confidence)
        except (TypeError, ValueError):
            confidence = -1
        if confidence not in dict(Hypothesis.CONFIDENCE_CHOICES):
            raise BadInput("Choose how sure you are from the list.")
    if confidence is not None and not direction:
        raise BadInput("Say which way you expect it to go before saying how sure you are.")
    return direction, confidence


def _renumber(session: WorkingSession, author: User, kind: str) -> None:
    _assign_ranks(list(Hypothesis.objects.filter(session=session, author=author, kind=kind)
                       .order_by("rank", "pk")))


def _assign_ranks(ordered: list[Hypothesis]) -> None:
    for position, entry in enumerate(ordered, start=1):
        if entry.rank != position:
            Hypothesis.objects.filter(pk=entry.pk).update(rank=position)
            entry.rank = position
