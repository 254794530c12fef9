"""Dot-voting on the revealed hypotheses: the facilitator opens a vote with N dots per
member, members place (and take back) their dots, several on one hypothesis if they
like, and nobody sees the others' dots until the facilitator closes the vote.

A member never holds more than N dots, even from several tabs at once: each dot takes
one of the member's N numbered places (a unique constraint), and placing one locks the
vote's row, so a dot cannot land in a vote that is being closed."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from accounts.models import User

from .. import push, steps
from ..models import MAX_DOTS_PER_MEMBER, Dot, DotVote, Hypothesis, SessionEvent, WorkingSession
from .errors import BadInput, LimitReached, StepClosed
from .guards import (
    fresh,
    log,
    record_change,
    require_facilitator,
    require_open,
    require_participant,
    require_step_in,
)

# Votes are about hypotheses, so they open and take dots while hypotheses are the topic.
VOTE_STEPS = steps.HYPOTHESIS_STEPS


def vote_open(*, session: WorkingSession, by: User, dots_per_member: int = 3) -> DotVote:
    session = fresh(session)
    require_facilitator(session, by, "open a vote")
    require_step_in(session, VOTE_STEPS, "Votes")
    if not isinstance(dots_per_member, int) or not 1 <= dots_per_member <= MAX_DOTS_PER_MEMBER:
        raise BadInput(f"Give each member 1 to {MAX_DOTS_PER_MEMBER} dots.")
    if not _votable(session).exists():
        raise BadInput("Reveal the hypotheses first: members vote on what they can read.")
    try:
        with transaction.atomic():
            vote = DotVote.objects.create(session=session, dots_per_member=dots_per_member,
                                          opened_by=by)
            record_change(session)
            push.session_changed(session.pk, everyone=True)  # each member's own dots
            log(session, SessionEvent.Kind.VOTE_OPENED, by, dots_per_member=dots_per_member)
    except IntegrityError:  # one open vote per session
        raise StepClosed("A vote is already open: close it before opening another.") from None
    return vote


def dot_place(*, session: WorkingSession, by: User, hypothesis: Hypothesis) -> Dot:
    """Put one of the member's dots on `hypothesis` (a revealed hypothesis of the session)."""
    session = fresh(session)
    require_step_in(session, VOTE_STEPS, "Dots")
    require_participant(session, by)
    if not _votable(session).filter(pk=hypothesis.pk).exists():
        raise BadInput("Dots go on the session's revealed hypotheses.")
    for _ in range(MAX_DOTS_PER_MEMBER + 1):
        try:
            with transaction.atomic():
                vote = _open_vote(session, lock=True)
                taken = set(Dot.objects.filter(vote=vote, voter=by)
                            .values_list("slot", flat=True))
                free = [s for s in range(1, vote.dots_per_member + 1) if s not in taken]
                if not free:
                    raise LimitReached(f"You have placed all {vote.dots_per_member} of your "
                                       "dots: take one back to move it.")
                dot = Dot.objects.create(vote=vote, voter=by, hypothesis=hypothesis,
                                         slot=free[0])
                record_change(session)
        except IntegrityError:
            continue  # the same member's other tab took that place first
        return dot
    raise LimitReached("Your dots are all placed.")


def dot_remove(*, session: WorkingSession, by: User, hypothesis: Hypothesis) -> None:
    """Take back one of the member's dots from `hypothesis`."""
    session = fresh(session)
    require_step_in(session, VOTE_STEPS, "Dots")
    require_participant(session, by)
    with transaction.atomic():
        vote = _open_vote(session, lock=True)
        dot = (Dot.objects.filter(vote=vote, voter=by, hypothesis=hypothesis)
               .order_by("-slot").first())
        if dot is None:
            raise BadInput("You have no dot on that hypothesis.")
        dot.delete()
        record_change(session)


def vote_close(*, session: WorkingSession, by: User) -> DotVote:
    """End the vote: from now on everyone sees the totals."""
    session = fresh(session)
    require_facilitator(session, by, "close the vote")
    require_open(session)
    now = timezone.now()
    with transaction.atomic():
        vote = _open_vote(session, lock=True)
        DotVote.objects.filter(pk=vote.pk).update(closed_at=now, closed_by=by)
        record_change(session)
        push.session_changed(session.pk, everyone=True)  # totals replace each one's dots
        # The log names hypotheses by their text, not their ids: it reads the same after
        # a backup is restored elsewhere (ops.backup remaps only top-level ids).
        totals = list(Dot.objects.filter(vote=vote).values("hypothesis")
                      .annotate(n=Count("pk")).order_by("-n", "hypothesis__created_at")
                      .values_list("hypothesis__text", "n"))
        log(session, SessionEvent.Kind.VOTE_CLOSED, by, dots=sum(n for _, n in totals),
            totals=[{"hypothesis": text[:120], "dots": n} for text, n in totals])
    vote.closed_at, vote.closed_by = now, by
    return vote


def _votable(session: WorkingSession):
    return Hypothesis.objects.filter(session=session, kind=Hypothesis.Kind.HYPOTHESIS,
                                     revealed_at__isnull=False)


def _open_vote(session: WorkingSession, *, lock: bool) -> DotVote:
    votes = DotVote.objects.filter(session=session, closed_at__isnull=True)
    if lock:
        # Placements and the close queue up on this row; NO KEY UPDATE is enough for
        # that, and does not clash with the key-share lock a new dot's foreign key takes.
        votes = votes.select_for_update(no_key=True)
    vote = votes.first()
    if vote is None:
        raise StepClosed("No vote is open: the facilitator opens one.")
    return vote
