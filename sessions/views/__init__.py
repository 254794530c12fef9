from .actions import (  # noqa: F401
    definition_change,
    definition_confirm,
    definition_revise,
    discovery_run,
    entries_reveal,
    finding_create,
    finding_delete,
    hypothesis_create,
    hypothesis_delete,
    hypothesis_edit,
    hypothesis_rerank,
    hypothesis_test,
    next_step_create,
    next_step_done,
    session_close,
    session_move,
    session_settings,
    suggestion_adopt,
    tests_run_all,
    timer_extend,
)
from .live import session_live  # noqa: F401
from .pages import (  # noqa: F401
    member_record,
    session_create,
    session_detail,
    session_list,
    session_report,
    session_report_md,
)
from .pins import pin_create, pin_delete  # noqa: F401
from .tools import (  # noqa: F401
    dot_place,
    dot_remove,
    tests_run_vote_order,
    timebox_set,
    vote_close,
    vote_open,
)
