"""Plain data with no I/O: queue policies, limits, messages, receipts, outcomes, runs,
schedules; one module per kind, every name re-exported here."""

from sluice.model.actions import (
    DURATION_BUCKETS as DURATION_BUCKETS,
)
from sluice.model.actions import (
    RATE as RATE,
)
from sluice.model.actions import (
    ActionLimit as ActionLimit,
)
from sluice.model.actions import (
    ActionPolicy as ActionPolicy,
)
from sluice.model.actions import (
    ActionStats as ActionStats,
)
from sluice.model.actions import (
    Job as Job,
)
from sluice.model.actions import (
    Partial as Partial,
)
from sluice.model.actions import (
    parse_rate as parse_rate,
)
from sluice.model.messages import (
    MAX_PRIORITY as MAX_PRIORITY,
)
from sluice.model.messages import (
    Attempt as Attempt,
)
from sluice.model.messages import (
    Enqueued as Enqueued,
)
from sluice.model.messages import (
    Message as Message,
)
from sluice.model.messages import (
    NewMessage as NewMessage,
)
from sluice.model.messages import (
    Outcome as Outcome,
)
from sluice.model.messages import (
    OutcomeKind as OutcomeKind,
)
from sluice.model.messages import (
    Receipt as Receipt,
)
from sluice.model.queues import (
    DEFAULT_GROUP as DEFAULT_GROUP,
)
from sluice.model.queues import (
    DLQ_SUFFIX as DLQ_SUFFIX,
)
from sluice.model.queues import (
    QUEUE_NAME as QUEUE_NAME,
)
from sluice.model.queues import (
    QueuePolicy as QueuePolicy,
)
from sluice.model.queues import (
    QueueStats as QueueStats,
)
from sluice.model.queues import (
    Seconds as Seconds,
)
from sluice.model.queues import (
    dlq_name as dlq_name,
)
from sluice.model.queues import (
    is_dlq as is_dlq,
)
from sluice.model.queues import (
    seconds as seconds,
)
from sluice.model.queues import (
    validate_queue_name as validate_queue_name,
)
from sluice.model.runs import (
    FINISHED as FINISHED,
)
from sluice.model.runs import (
    RUN_STATUSES as RUN_STATUSES,
)
from sluice.model.runs import (
    RunSpec as RunSpec,
)
from sluice.model.runs import (
    RunState as RunState,
)
from sluice.model.runs import (
    RunStatus as RunStatus,
)
from sluice.model.runs import (
    StageState as StageState,
)
from sluice.model.runs import (
    Target as Target,
)
from sluice.model.schedules import (
    CRON_ALIASES as CRON_ALIASES,
)
from sluice.model.schedules import (
    MISFIRE_POLICIES as MISFIRE_POLICIES,
)
from sluice.model.schedules import (
    SCHEDULE_NAME as SCHEDULE_NAME,
)
from sluice.model.schedules import (
    Misfire as Misfire,
)
from sluice.model.schedules import (
    Schedule as Schedule,
)
from sluice.model.schedules import (
    check_cron as check_cron,
)
from sluice.model.schedules import (
    timezone_named as timezone_named,
)
from sluice.model.status import (
    RESULT_LIMIT as RESULT_LIMIT,
)
from sluice.model.status import (
    MessageStatus as MessageStatus,
)
from sluice.model.status import (
    StatusState as StatusState,
)
