"""Every write of a working session, and every rule about who may write what and when.

Views, the demo and other apps' tools call these; nothing else writes session rows."""

from .entries import (
    clean_criterion,
    hypothesis_create,
    hypothesis_delete,
    hypothesis_rerank,
    hypothesis_update,
)
from .errors import BadInput, LimitReached, NotAllowed, SessionRefused, StaleStep, StepClosed
from .guards import ensure_step_open
from .meeting import (
    definition_change,
    definition_confirm,
    definition_revise,
    entries_reveal,
    presence_touch,
    session_close,
    session_create,
    session_join,
    session_settings_update,
    step_move,
    timer_extend,
)
from .pins import pin_finding, unpin_finding
from .records import (
    finding_attach,
    finding_create,
    finding_delete,
    next_step_create,
    next_step_set_done,
    team_finding_create,
)
from .testing import (
    discovery_run,
    hypothesis_test_run,
    session_tests_run,
    session_tests_run_in_vote_order,
    suggestion_adopt,
)
from .timebox import timebox_set
from .voting import dot_place, dot_remove, vote_close, vote_open


def dig_deadline(session):
    """When "Test and learn" closes (None before it starts): the server's clock decides."""
    return session.dig_deadline()


__all__ = [
    "BadInput", "LimitReached", "NotAllowed", "SessionRefused", "StaleStep", "StepClosed",
    "clean_criterion", "definition_change", "definition_confirm", "definition_revise",
    "dig_deadline", "discovery_run", "ensure_step_open", "entries_reveal", "finding_create",
    "finding_delete", "hypothesis_create", "hypothesis_delete", "hypothesis_rerank",
    "hypothesis_test_run", "hypothesis_update", "next_step_create", "next_step_set_done",
    "pin_finding", "presence_touch", "session_close", "session_create", "session_join",
    "session_settings_update", "session_tests_run", "step_move", "suggestion_adopt",
    "timer_extend", "unpin_finding",
    # findings kept outside a session (issue 11)
    "finding_attach", "team_finding_create",
    # meeting tools
    "dot_place", "dot_remove", "session_tests_run_in_vote_order", "timebox_set", "vote_close",
    "vote_open",
]
