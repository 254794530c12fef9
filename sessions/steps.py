"""The steps of a working session, in order, and which write each step allows.

Plain data and small functions, no ORM: services ask these rules, templates show them,
tests pin them."""

from __future__ import annotations

from django.db import models


class Step(models.TextChoices):
    ALIGN = "align", "Align"
    HYPOTHESES = "hypotheses", "Hypotheses"
    TEST = "test", "Test"
    EXPLORE = "explore", "Explore new ideas"
    # Its value stays "dig": stored in rows and backups, and part of URLs.
    TEST_AND_LEARN = "dig", "Test and learn"
    RESULTS = "results", "Results"
    NEXT_STEPS = "next_steps", "Next steps"
    UNSUCCESSFUL = "unsuccessful", "Unsuccessful users"
    CLOSED = "closed", "Closed"


ORDER: tuple[str, ...] = tuple(step.value for step in Step)

# What the stepper says under each step's name.
PURPOSE = {
    Step.ALIGN: "Agree on what success means",
    Step.HYPOTHESES: "Each member writes up to three",
    Step.TEST: "Test them against the data",
    Step.EXPLORE: "Three more ideas each",
    Step.TEST_AND_LEARN: "Dig in against the clock",
    Step.RESULTS: "What we found",
    Step.NEXT_STEPS: "Experiments and owners",
    Step.UNSUCCESSFUL: "What the others share",
    Step.CLOSED: "Read-only record",
}

# Which kind of entry members write in which step: hypotheses while stating and testing
# them, new ideas while exploring and digging.
HYPOTHESIS_STEPS = frozenset({Step.HYPOTHESES, Step.TEST})
IDEA_STEPS = frozenset({Step.EXPLORE, Step.TEST_AND_LEARN})
# Tests run once the definition is settled (Align and Hypotheses are over).
TESTING_STEPS = frozenset({Step.TEST, Step.EXPLORE, Step.TEST_AND_LEARN, Step.RESULTS, Step.NEXT_STEPS,
                           Step.UNSUCCESSFUL})
FINDING_STEPS = frozenset({Step.TEST, Step.EXPLORE, Step.TEST_AND_LEARN, Step.RESULTS, Step.UNSUCCESSFUL})
NEXT_STEP_STEPS = frozenset({Step.NEXT_STEPS, Step.UNSUCCESSFUL})
# Discovery: "suggest" while naming new ideas, and the unsuccessful users' ranking.
DISCOVERY_STEPS = frozenset({Step.EXPLORE, Step.TEST_AND_LEARN, Step.UNSUCCESSFUL})


def index(step: str) -> int:
    return ORDER.index(step)


def label(step: str) -> str:
    return Step(step).label


def next_step(step: str) -> str | None:
    position = index(step)
    return ORDER[position + 1] if position + 1 < len(ORDER) else None


def previous_step(step: str) -> str | None:
    position = index(step)
    # Nothing goes back into a closed session, and Align has nothing before it.
    if step == Step.CLOSED or position == 0:
        return None
    return ORDER[position - 1]


def move_problem(current: str, target: str) -> str | None:
    """Why the facilitator cannot move from `current` to `target`, or None when they can.

    Forward one step at a time (so that no step, and no timer, is skipped); back to any
    earlier step while the session is open; never out of Closed."""
    if target not in ORDER:
        return f"There is no step called “{target}”."
    if current == Step.CLOSED:
        return "The session is closed; its record can no longer change."
    if target == current:
        return f"The session is already at {label(current)}."
    if index(target) > index(current) + 1:
        return f"Go through {label(next_step(current))} first: steps are taken one at a time."
    return None


def is_forward(current: str, target: str) -> bool:
    return index(target) > index(current)
