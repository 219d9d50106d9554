import datetime

from distribution.v1 import resources_pb2 as _resources_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AssignOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSIGN_OUTCOME_UNSPECIFIED: _ClassVar[AssignOutcome]
    ASSIGN_OUTCOME_ASSIGNED: _ClassVar[AssignOutcome]
    ASSIGN_OUTCOME_REJECTED_FILTER: _ClassVar[AssignOutcome]
    ASSIGN_OUTCOME_REJECTED_DUPLICATE: _ClassVar[AssignOutcome]
    ASSIGN_OUTCOME_REJECTED_UNAVAILABLE: _ClassVar[AssignOutcome]
    ASSIGN_OUTCOME_REJECTED_NO_SLOT: _ClassVar[AssignOutcome]
    ASSIGN_OUTCOME_REJECTED_QUOTA: _ClassVar[AssignOutcome]

class AutoDistributeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUTO_DISTRIBUTE_MODE_UNSPECIFIED: _ClassVar[AutoDistributeMode]
    AUTO_DISTRIBUTE_MODE_FILTER: _ClassVar[AutoDistributeMode]
    AUTO_DISTRIBUTE_MODE_SCHEDULE: _ClassVar[AutoDistributeMode]

class SolverStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOLVER_STATUS_UNSPECIFIED: _ClassVar[SolverStatus]
    SOLVER_STATUS_OPTIMAL: _ClassVar[SolverStatus]
    SOLVER_STATUS_FEASIBLE: _ClassVar[SolverStatus]
    SOLVER_STATUS_INFEASIBLE: _ClassVar[SolverStatus]
    SOLVER_STATUS_UNKNOWN: _ClassVar[SolverStatus]

class PlanChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLAN_CHANGE_KIND_UNSPECIFIED: _ClassVar[PlanChangeKind]
    PLAN_CHANGE_KIND_ADDED: _ClassVar[PlanChangeKind]
    PLAN_CHANGE_KIND_MOVED: _ClassVar[PlanChangeKind]
    PLAN_CHANGE_KIND_DROPPED: _ClassVar[PlanChangeKind]

class RunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATE_UNSPECIFIED: _ClassVar[RunState]
    RUN_STATE_PROPOSED: _ClassVar[RunState]
    RUN_STATE_APPLIED: _ClassVar[RunState]
    RUN_STATE_SUPERSEDED: _ClassVar[RunState]
    RUN_STATE_EXPIRED: _ClassVar[RunState]
ASSIGN_OUTCOME_UNSPECIFIED: AssignOutcome
ASSIGN_OUTCOME_ASSIGNED: AssignOutcome
ASSIGN_OUTCOME_REJECTED_FILTER: AssignOutcome
ASSIGN_OUTCOME_REJECTED_DUPLICATE: AssignOutcome
ASSIGN_OUTCOME_REJECTED_UNAVAILABLE: AssignOutcome
ASSIGN_OUTCOME_REJECTED_NO_SLOT: AssignOutcome
ASSIGN_OUTCOME_REJECTED_QUOTA: AssignOutcome
AUTO_DISTRIBUTE_MODE_UNSPECIFIED: AutoDistributeMode
AUTO_DISTRIBUTE_MODE_FILTER: AutoDistributeMode
AUTO_DISTRIBUTE_MODE_SCHEDULE: AutoDistributeMode
SOLVER_STATUS_UNSPECIFIED: SolverStatus
SOLVER_STATUS_OPTIMAL: SolverStatus
SOLVER_STATUS_FEASIBLE: SolverStatus
SOLVER_STATUS_INFEASIBLE: SolverStatus
SOLVER_STATUS_UNKNOWN: SolverStatus
PLAN_CHANGE_KIND_UNSPECIFIED: PlanChangeKind
PLAN_CHANGE_KIND_ADDED: PlanChangeKind
PLAN_CHANGE_KIND_MOVED: PlanChangeKind
PLAN_CHANGE_KIND_DROPPED: PlanChangeKind
RUN_STATE_UNSPECIFIED: RunState
RUN_STATE_PROPOSED: RunState
RUN_STATE_APPLIED: RunState
RUN_STATE_SUPERSEDED: RunState
RUN_STATE_EXPIRED: RunState

class UpsertChannelRequest(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: _resources_pb2.Channel
    def __init__(self, channel: _Optional[_Union[_resources_pb2.Channel, _Mapping]] = ...) -> None: ...

class GetChannelRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListChannelsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListChannelsResponse(_message.Message):
    __slots__ = ("channels", "next_page_token")
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Channel]
    next_page_token: str
    def __init__(self, channels: _Optional[_Iterable[_Union[_resources_pb2.Channel, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SetChannelAvailabilityRequest(_message.Message):
    __slots__ = ("channel_id", "available", "until", "reason")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    available: bool
    until: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, channel_id: _Optional[str] = ..., available: _Optional[bool] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class UpsertVideosRequest(_message.Message):
    __slots__ = ("videos",)
    VIDEOS_FIELD_NUMBER: _ClassVar[int]
    videos: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Video]
    def __init__(self, videos: _Optional[_Iterable[_Union[_resources_pb2.Video, _Mapping]]] = ...) -> None: ...

class UpsertVideosResponse(_message.Message):
    __slots__ = ("upserted_count",)
    UPSERTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    upserted_count: int
    def __init__(self, upserted_count: _Optional[int] = ...) -> None: ...

class GetVideoRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListVideosRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListVideosResponse(_message.Message):
    __slots__ = ("videos", "next_page_token")
    VIDEOS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    videos: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Video]
    next_page_token: str
    def __init__(self, videos: _Optional[_Iterable[_Union[_resources_pb2.Video, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class AssignRequest(_message.Message):
    __slots__ = ("video_id", "channel_ids", "force", "allow_duplicate", "scheduled_at", "note", "request_id")
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    video_id: str
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    force: bool
    allow_duplicate: bool
    scheduled_at: _timestamp_pb2.Timestamp
    note: str
    request_id: str
    def __init__(self, video_id: _Optional[str] = ..., channel_ids: _Optional[_Iterable[str]] = ..., force: _Optional[bool] = ..., allow_duplicate: _Optional[bool] = ..., scheduled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., note: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AssignResult(_message.Message):
    __slots__ = ("channel_id", "outcome", "distribution", "reason", "failed_filters")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FAILED_FILTERS_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    outcome: AssignOutcome
    distribution: _resources_pb2.Distribution
    reason: str
    failed_filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, channel_id: _Optional[str] = ..., outcome: _Optional[_Union[AssignOutcome, str]] = ..., distribution: _Optional[_Union[_resources_pb2.Distribution, _Mapping]] = ..., reason: _Optional[str] = ..., failed_filters: _Optional[_Iterable[str]] = ...) -> None: ...

class AssignResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AssignResult]
    def __init__(self, results: _Optional[_Iterable[_Union[AssignResult, _Mapping]]] = ...) -> None: ...

class AutoDistributeRequest(_message.Message):
    __slots__ = ("mode", "video_ids", "channel_ids", "horizon_start", "horizon_end", "max_channels_per_video", "min_score", "time_limit_seconds", "dry_run", "request_id", "min_hours_between", "expected_input_digest", "expected_plan_digest", "replan", "freeze_until", "change_penalty", "max_channels_per_platform")
    MODE_FIELD_NUMBER: _ClassVar[int]
    VIDEO_IDS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    HORIZON_START_FIELD_NUMBER: _ClassVar[int]
    HORIZON_END_FIELD_NUMBER: _ClassVar[int]
    MAX_CHANNELS_PER_VIDEO_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    TIME_LIMIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MIN_HOURS_BETWEEN_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_INPUT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PLAN_DIGEST_FIELD_NUMBER: _ClassVar[int]
    REPLAN_FIELD_NUMBER: _ClassVar[int]
    FREEZE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    MAX_CHANNELS_PER_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    mode: AutoDistributeMode
    video_ids: _containers.RepeatedScalarFieldContainer[str]
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    horizon_start: _timestamp_pb2.Timestamp
    horizon_end: _timestamp_pb2.Timestamp
    max_channels_per_video: int
    min_score: int
    time_limit_seconds: float
    dry_run: bool
    request_id: str
    min_hours_between: int
    expected_input_digest: str
    expected_plan_digest: str
    replan: bool
    freeze_until: _timestamp_pb2.Timestamp
    change_penalty: int
    max_channels_per_platform: int
    def __init__(self, mode: _Optional[_Union[AutoDistributeMode, str]] = ..., video_ids: _Optional[_Iterable[str]] = ..., channel_ids: _Optional[_Iterable[str]] = ..., horizon_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., horizon_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., max_channels_per_video: _Optional[int] = ..., min_score: _Optional[int] = ..., time_limit_seconds: _Optional[float] = ..., dry_run: _Optional[bool] = ..., request_id: _Optional[str] = ..., min_hours_between: _Optional[int] = ..., expected_input_digest: _Optional[str] = ..., expected_plan_digest: _Optional[str] = ..., replan: _Optional[bool] = ..., freeze_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., change_penalty: _Optional[int] = ..., max_channels_per_platform: _Optional[int] = ...) -> None: ...

class PlanChange(_message.Message):
    __slots__ = ("kind", "distribution_id", "video_id", "channel_id", "from_time", "to_time", "reason", "score")
    KIND_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_ID_FIELD_NUMBER: _ClassVar[int]
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    TO_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    kind: PlanChangeKind
    distribution_id: str
    video_id: str
    channel_id: str
    from_time: _timestamp_pb2.Timestamp
    to_time: _timestamp_pb2.Timestamp
    reason: str
    score: int
    def __init__(self, kind: _Optional[_Union[PlanChangeKind, str]] = ..., distribution_id: _Optional[str] = ..., video_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., to_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., score: _Optional[int] = ...) -> None: ...

class SkipReason(_message.Message):
    __slots__ = ("video_id", "channel_id", "reason", "code")
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    video_id: str
    channel_id: str
    reason: str
    code: str
    def __init__(self, video_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., reason: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class AutoDistributeResponse(_message.Message):
    __slots__ = ("run_id", "solver_status", "objective", "best_bound", "gap", "assignments", "skipped", "candidate_count", "slot_count", "wall_seconds", "assignment_count", "skipped_count", "truncated", "dry_run", "channels", "input_digest", "plan_digest", "changes", "change_count", "state", "quota")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    SOLVER_STATUS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    BEST_BOUND_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SLOT_COUNT_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    INPUT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    PLAN_DIGEST_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    CHANGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    solver_status: SolverStatus
    objective: int
    best_bound: int
    gap: float
    assignments: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Distribution]
    skipped: _containers.RepeatedCompositeFieldContainer[SkipReason]
    candidate_count: int
    slot_count: int
    wall_seconds: float
    assignment_count: int
    skipped_count: int
    truncated: bool
    dry_run: bool
    channels: _containers.RepeatedCompositeFieldContainer[ChannelPlan]
    input_digest: str
    plan_digest: str
    changes: _containers.RepeatedCompositeFieldContainer[PlanChange]
    change_count: int
    state: RunState
    quota: _containers.RepeatedCompositeFieldContainer[QuotaUse]
    def __init__(self, run_id: _Optional[str] = ..., solver_status: _Optional[_Union[SolverStatus, str]] = ..., objective: _Optional[int] = ..., best_bound: _Optional[int] = ..., gap: _Optional[float] = ..., assignments: _Optional[_Iterable[_Union[_resources_pb2.Distribution, _Mapping]]] = ..., skipped: _Optional[_Iterable[_Union[SkipReason, _Mapping]]] = ..., candidate_count: _Optional[int] = ..., slot_count: _Optional[int] = ..., wall_seconds: _Optional[float] = ..., assignment_count: _Optional[int] = ..., skipped_count: _Optional[int] = ..., truncated: _Optional[bool] = ..., dry_run: _Optional[bool] = ..., channels: _Optional[_Iterable[_Union[ChannelPlan, _Mapping]]] = ..., input_digest: _Optional[str] = ..., plan_digest: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[PlanChange, _Mapping]]] = ..., change_count: _Optional[int] = ..., state: _Optional[_Union[RunState, str]] = ..., quota: _Optional[_Iterable[_Union[QuotaUse, _Mapping]]] = ...) -> None: ...

class QuotaUse(_message.Message):
    __slots__ = ("pool_id", "window_start", "used", "limit")
    POOL_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    pool_id: str
    window_start: _timestamp_pb2.Timestamp
    used: int
    limit: int
    def __init__(self, pool_id: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., used: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ApplyRunRequest(_message.Message):
    __slots__ = ("run_id", "request_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    request_id: str
    def __init__(self, run_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListRunChangesRequest(_message.Message):
    __slots__ = ("run_id", "page_size", "page_token")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    page_size: int
    page_token: str
    def __init__(self, run_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRunChangesResponse(_message.Message):
    __slots__ = ("changes", "next_page_token")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[PlanChange]
    next_page_token: str
    def __init__(self, changes: _Optional[_Iterable[_Union[PlanChange, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ChannelPlan(_message.Message):
    __slots__ = ("channel_id", "free_slots", "filled", "total_score")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    FREE_SLOTS_FIELD_NUMBER: _ClassVar[int]
    FILLED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    free_slots: int
    filled: int
    total_score: int
    def __init__(self, channel_id: _Optional[str] = ..., free_slots: _Optional[int] = ..., filled: _Optional[int] = ..., total_score: _Optional[int] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("run_id", "mode", "parameters", "solver_status", "objective", "best_bound", "gap", "candidate_count", "slot_count", "video_count", "channel_count", "assignment_count", "skipped_count", "wall_seconds", "actor", "create_time", "state", "expire_time", "change_count")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SOLVER_STATUS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    BEST_BOUND_FIELD_NUMBER: _ClassVar[int]
    GAP_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    SLOT_COUNT_FIELD_NUMBER: _ClassVar[int]
    VIDEO_COUNT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    CHANGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    mode: AutoDistributeMode
    parameters: AutoDistributeRequest
    solver_status: SolverStatus
    objective: int
    best_bound: int
    gap: float
    candidate_count: int
    slot_count: int
    video_count: int
    channel_count: int
    assignment_count: int
    skipped_count: int
    wall_seconds: float
    actor: str
    create_time: _timestamp_pb2.Timestamp
    state: RunState
    expire_time: _timestamp_pb2.Timestamp
    change_count: int
    def __init__(self, run_id: _Optional[str] = ..., mode: _Optional[_Union[AutoDistributeMode, str]] = ..., parameters: _Optional[_Union[AutoDistributeRequest, _Mapping]] = ..., solver_status: _Optional[_Union[SolverStatus, str]] = ..., objective: _Optional[int] = ..., best_bound: _Optional[int] = ..., gap: _Optional[float] = ..., candidate_count: _Optional[int] = ..., slot_count: _Optional[int] = ..., video_count: _Optional[int] = ..., channel_count: _Optional[int] = ..., assignment_count: _Optional[int] = ..., skipped_count: _Optional[int] = ..., wall_seconds: _Optional[float] = ..., actor: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[RunState, str]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., change_count: _Optional[int] = ...) -> None: ...

class RetryRequest(_message.Message):
    __slots__ = ("distribution_ids", "channel_id", "all_failed", "reset_attempts")
    DISTRIBUTION_IDS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    ALL_FAILED_FIELD_NUMBER: _ClassVar[int]
    RESET_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    distribution_ids: _containers.RepeatedScalarFieldContainer[str]
    channel_id: str
    all_failed: bool
    reset_attempts: bool
    def __init__(self, distribution_ids: _Optional[_Iterable[str]] = ..., channel_id: _Optional[str] = ..., all_failed: _Optional[bool] = ..., reset_attempts: _Optional[bool] = ...) -> None: ...

class RetrySkip(_message.Message):
    __slots__ = ("distribution_id", "reason")
    DISTRIBUTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    distribution_id: str
    reason: str
    def __init__(self, distribution_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RetryResponse(_message.Message):
    __slots__ = ("retried", "skipped")
    RETRIED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    retried: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Distribution]
    skipped: _containers.RepeatedCompositeFieldContainer[RetrySkip]
    def __init__(self, retried: _Optional[_Iterable[_Union[_resources_pb2.Distribution, _Mapping]]] = ..., skipped: _Optional[_Iterable[_Union[RetrySkip, _Mapping]]] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ("channel_ids", "start_time", "end_time")
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, channel_ids: _Optional[_Iterable[str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChannelStats(_message.Message):
    __slots__ = ("channel_id", "total", "published", "failed", "success_rate", "by_method")
    class ByMethodEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    BY_METHOD_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    total: int
    published: int
    failed: int
    success_rate: float
    by_method: _containers.ScalarMap[str, int]
    def __init__(self, channel_id: _Optional[str] = ..., total: _Optional[int] = ..., published: _Optional[int] = ..., failed: _Optional[int] = ..., success_rate: _Optional[float] = ..., by_method: _Optional[_Mapping[str, int]] = ...) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ("total", "by_state", "by_method", "success_rate", "error_rate", "retries", "channels", "due_now", "oldest_due_seconds", "server_version")
    class ByStateEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ByMethodEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    BY_STATE_FIELD_NUMBER: _ClassVar[int]
    BY_METHOD_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    DUE_NOW_FIELD_NUMBER: _ClassVar[int]
    OLDEST_DUE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    total: int
    by_state: _containers.ScalarMap[str, int]
    by_method: _containers.ScalarMap[str, int]
    success_rate: float
    error_rate: float
    retries: int
    channels: _containers.RepeatedCompositeFieldContainer[ChannelStats]
    due_now: int
    oldest_due_seconds: float
    server_version: str
    def __init__(self, total: _Optional[int] = ..., by_state: _Optional[_Mapping[str, int]] = ..., by_method: _Optional[_Mapping[str, int]] = ..., success_rate: _Optional[float] = ..., error_rate: _Optional[float] = ..., retries: _Optional[int] = ..., channels: _Optional[_Iterable[_Union[ChannelStats, _Mapping]]] = ..., due_now: _Optional[int] = ..., oldest_due_seconds: _Optional[float] = ..., server_version: _Optional[str] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class UpsertQuotaPoolRequest(_message.Message):
    __slots__ = ("pool",)
    POOL_FIELD_NUMBER: _ClassVar[int]
    pool: _resources_pb2.QuotaPool
    def __init__(self, pool: _Optional[_Union[_resources_pb2.QuotaPool, _Mapping]] = ...) -> None: ...

class GetQuotaPoolRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListQuotaPoolsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListQuotaPoolsResponse(_message.Message):
    __slots__ = ("pools", "next_page_token")
    POOLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    pools: _containers.RepeatedCompositeFieldContainer[_resources_pb2.QuotaPool]
    next_page_token: str
    def __init__(self, pools: _Optional[_Iterable[_Union[_resources_pb2.QuotaPool, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetDistributionRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListDistributionsRequest(_message.Message):
    __slots__ = ("video_id", "channel_id", "state", "method", "run_id", "page_size", "page_token")
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    video_id: str
    channel_id: str
    state: _resources_pb2.DistributionState
    method: _resources_pb2.DistributionMethod
    run_id: str
    page_size: int
    page_token: str
    def __init__(self, video_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., state: _Optional[_Union[_resources_pb2.DistributionState, str]] = ..., method: _Optional[_Union[_resources_pb2.DistributionMethod, str]] = ..., run_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDistributionsResponse(_message.Message):
    __slots__ = ("distributions", "next_page_token")
    DISTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    distributions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Distribution]
    next_page_token: str
    def __init__(self, distributions: _Optional[_Iterable[_Union[_resources_pb2.Distribution, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelDistributionRequest(_message.Message):
    __slots__ = ("id", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ListDecisionsRequest(_message.Message):
    __slots__ = ("video_id", "channel_id", "distribution_id", "run_id", "page_size", "page_token")
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    video_id: str
    channel_id: str
    distribution_id: str
    run_id: str
    page_size: int
    page_token: str
    def __init__(self, video_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., distribution_id: _Optional[str] = ..., run_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDecisionsResponse(_message.Message):
    __slots__ = ("decisions", "next_page_token")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Decision]
    next_page_token: str
    def __init__(self, decisions: _Optional[_Iterable[_Union[_resources_pb2.Decision, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ("video_ids", "channel_ids")
    VIDEO_IDS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    video_ids: _containers.RepeatedScalarFieldContainer[str]
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, video_ids: _Optional[_Iterable[str]] = ..., channel_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class PairExplanation(_message.Message):
    __slots__ = ("video_id", "channel_id", "eligible", "score", "failed_filters", "duplicate_of", "transformations", "blockers", "best_slot_weight", "best_value")
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    FAILED_FILTERS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_OF_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMATIONS_FIELD_NUMBER: _ClassVar[int]
    BLOCKERS_FIELD_NUMBER: _ClassVar[int]
    BEST_SLOT_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    BEST_VALUE_FIELD_NUMBER: _ClassVar[int]
    video_id: str
    channel_id: str
    eligible: bool
    score: int
    failed_filters: _containers.RepeatedScalarFieldContainer[str]
    duplicate_of: str
    transformations: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Transformation]
    blockers: _containers.RepeatedScalarFieldContainer[str]
    best_slot_weight: float
    best_value: int
    def __init__(self, video_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., eligible: _Optional[bool] = ..., score: _Optional[int] = ..., failed_filters: _Optional[_Iterable[str]] = ..., duplicate_of: _Optional[str] = ..., transformations: _Optional[_Iterable[_Union[_resources_pb2.Transformation, _Mapping]]] = ..., blockers: _Optional[_Iterable[str]] = ..., best_slot_weight: _Optional[float] = ..., best_value: _Optional[int] = ...) -> None: ...

class ExplainResponse(_message.Message):
    __slots__ = ("pairs",)
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    pairs: _containers.RepeatedCompositeFieldContainer[PairExplanation]
    def __init__(self, pairs: _Optional[_Iterable[_Union[PairExplanation, _Mapping]]] = ...) -> None: ...

class SuggestPlacementsRequest(_message.Message):
    __slots__ = ("video_id", "channel_ids", "limit", "horizon_end")
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    HORIZON_END_FIELD_NUMBER: _ClassVar[int]
    video_id: str
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    limit: int
    horizon_end: _timestamp_pb2.Timestamp
    def __init__(self, video_id: _Optional[str] = ..., channel_ids: _Optional[_Iterable[str]] = ..., limit: _Optional[int] = ..., horizon_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Placement(_message.Message):
    __slots__ = ("channel_id", "scheduled_at", "score", "slot_weight", "value", "displaces", "blockers")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SLOT_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DISPLACES_FIELD_NUMBER: _ClassVar[int]
    BLOCKERS_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    scheduled_at: _timestamp_pb2.Timestamp
    score: int
    slot_weight: float
    value: int
    displaces: str
    blockers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, channel_id: _Optional[str] = ..., scheduled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., score: _Optional[int] = ..., slot_weight: _Optional[float] = ..., value: _Optional[int] = ..., displaces: _Optional[str] = ..., blockers: _Optional[_Iterable[str]] = ...) -> None: ...

class SuggestPlacementsResponse(_message.Message):
    __slots__ = ("placements",)
    PLACEMENTS_FIELD_NUMBER: _ClassVar[int]
    placements: _containers.RepeatedCompositeFieldContainer[Placement]
    def __init__(self, placements: _Optional[_Iterable[_Union[Placement, _Mapping]]] = ...) -> None: ...

class LeasePublicationsRequest(_message.Message):
    __slots__ = ("worker_id", "limit", "lease_seconds", "channel_ids", "lookahead")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    LEASE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    LOOKAHEAD_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    limit: int
    lease_seconds: int
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    lookahead: _duration_pb2.Duration
    def __init__(self, worker_id: _Optional[str] = ..., limit: _Optional[int] = ..., lease_seconds: _Optional[int] = ..., channel_ids: _Optional[_Iterable[str]] = ..., lookahead: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Lease(_message.Message):
    __slots__ = ("distribution", "lease_token", "lease_expire_time", "idempotency_key", "previous_attempt_unconfirmed")
    DISTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ATTEMPT_UNCONFIRMED_FIELD_NUMBER: _ClassVar[int]
    distribution: _resources_pb2.Distribution
    lease_token: str
    lease_expire_time: _timestamp_pb2.Timestamp
    idempotency_key: str
    previous_attempt_unconfirmed: bool
    def __init__(self, distribution: _Optional[_Union[_resources_pb2.Distribution, _Mapping]] = ..., lease_token: _Optional[str] = ..., lease_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., previous_attempt_unconfirmed: _Optional[bool] = ...) -> None: ...

class LeasePublicationsResponse(_message.Message):
    __slots__ = ("leases",)
    LEASES_FIELD_NUMBER: _ClassVar[int]
    leases: _containers.RepeatedCompositeFieldContainer[Lease]
    def __init__(self, leases: _Optional[_Iterable[_Union[Lease, _Mapping]]] = ...) -> None: ...

class PublishedOutcome(_message.Message):
    __slots__ = ("external_id", "url")
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    external_id: str
    url: str
    def __init__(self, external_id: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

class FailedOutcome(_message.Message):
    __slots__ = ("error", "retryable", "channel_unavailable", "quota_pool_id")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    QUOTA_POOL_ID_FIELD_NUMBER: _ClassVar[int]
    error: str
    retryable: bool
    channel_unavailable: bool
    quota_pool_id: str
    def __init__(self, error: _Optional[str] = ..., retryable: _Optional[bool] = ..., channel_unavailable: _Optional[bool] = ..., quota_pool_id: _Optional[str] = ...) -> None: ...

class ReportPublicationRequest(_message.Message):
    __slots__ = ("distribution_id", "lease_token", "published", "failed")
    DISTRIBUTION_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    distribution_id: str
    lease_token: str
    published: PublishedOutcome
    failed: FailedOutcome
    def __init__(self, distribution_id: _Optional[str] = ..., lease_token: _Optional[str] = ..., published: _Optional[_Union[PublishedOutcome, _Mapping]] = ..., failed: _Optional[_Union[FailedOutcome, _Mapping]] = ...) -> None: ...
