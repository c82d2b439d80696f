"""The hazard lifecycle (排查→上报→交办→整改→复查→销号), enforced on every channel.

Plain functions, no views: the REST API, the admin, the grid worker's page and imports all call
`perform`, which checks the state graph (layers.domain.vocabularies.HAZARD_STATUS.transitions),
who may act, and the inputs each step needs, then writes the hazard through
layers.services.editing (version, history, derived links) and one HazardEvent for the timeline
(全程留痕), in one transaction.

Who may do what:
- leaders (the editor role) assign, set and extend deadlines, approve extensions, reject, and
  put major hazards under formal supervision (挂牌督办);
- inspectors report, start and record rectification, re-inspect, close on the spot (即查即改)
  and mark duplicates, on the hazards they reach: a grid worker (an inspector who looks after
  grid cells) reaches the hazards in their own cells and those assigned to them, nothing else;
  an inspector with no cell (a subdistrict safety officer) reaches every hazard;
- the assignee starts work, records the rectification and asks for more time;
- the re-inspection is done by someone other than who recorded the rectification;
- who did something is always the signed-in user, never a value a client sends.
"""

from layers.services.workflow.actions import (
    ACTIONS,
    RECORD_FIELDS,
    Action,
    allowed_actions,
    legal_actions,
)
from layers.services.workflow.deadlines import default_deadline
from layers.services.workflow.errors import (
    IllegalTransition,
    InvalidInput,
    NotPermitted,
    WorkflowError,
)
from layers.services.workflow.inputs import SERIALIZERS, STEP_INPUTS, step_inputs
from layers.services.workflow.queries import nearby_duplicates, photo_urls, tasks, timeline
from layers.services.workflow.reach import (
    grid_cells_of,
    is_grid_worker,
    may_create_at,
    may_edit,
    may_move_to,
    reach_q,
    reaches,
)
from layers.services.workflow.steps import perform, record_creation, server_values

__all__ = [
    "ACTIONS",
    "RECORD_FIELDS",
    "SERIALIZERS",
    "STEP_INPUTS",
    "Action",
    "IllegalTransition",
    "InvalidInput",
    "NotPermitted",
    "WorkflowError",
    "allowed_actions",
    "default_deadline",
    "grid_cells_of",
    "is_grid_worker",
    "legal_actions",
    "may_create_at",
    "may_edit",
    "may_move_to",
    "nearby_duplicates",
    "perform",
    "photo_urls",
    "reach_q",
    "reaches",
    "record_creation",
    "server_values",
    "step_inputs",
    "tasks",
    "timeline",
]
