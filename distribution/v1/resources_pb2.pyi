import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DayOfWeek(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DAY_OF_WEEK_UNSPECIFIED: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_MONDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_TUESDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_WEDNESDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_THURSDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_FRIDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_SATURDAY: _ClassVar[DayOfWeek]
    DAY_OF_WEEK_SUNDAY: _ClassVar[DayOfWeek]

class Orientation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORIENTATION_UNSPECIFIED: _ClassVar[Orientation]
    ORIENTATION_VERTICAL: _ClassVar[Orientation]
    ORIENTATION_HORIZONTAL: _ClassVar[Orientation]
    ORIENTATION_SQUARE: _ClassVar[Orientation]

class VideoState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VIDEO_STATE_UNSPECIFIED: _ClassVar[VideoState]
    VIDEO_STATE_READY: _ClassVar[VideoState]
    VIDEO_STATE_NOT_READY: _ClassVar[VideoState]
    VIDEO_STATE_RETIRED: _ClassVar[VideoState]

class DistributionMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISTRIBUTION_METHOD_UNSPECIFIED: _ClassVar[DistributionMethod]
    DISTRIBUTION_METHOD_AUTO_FILTER: _ClassVar[DistributionMethod]
    DISTRIBUTION_METHOD_AUTO_SCHEDULE: _ClassVar[DistributionMethod]
    DISTRIBUTION_METHOD_MANUAL: _ClassVar[DistributionMethod]

class DistributionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISTRIBUTION_STATE_UNSPECIFIED: _ClassVar[DistributionState]
    DISTRIBUTION_STATE_ASSIGNED: _ClassVar[DistributionState]
    DISTRIBUTION_STATE_SCHEDULED: _ClassVar[DistributionState]
    DISTRIBUTION_STATE_PUBLISHING: _ClassVar[DistributionState]
    DISTRIBUTION_STATE_PUBLISHED: _ClassVar[DistributionState]
    DISTRIBUTION_STATE_FAILED: _ClassVar[DistributionState]
    DISTRIBUTION_STATE_CANCELLED: _ClassVar[DistributionState]

class TransformationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFORMATION_KIND_UNSPECIFIED: _ClassVar[TransformationKind]
    TRANSFORMATION_KIND_TRIM: _ClassVar[TransformationKind]
    TRANSFORMATION_KIND_CROP: _ClassVar[TransformationKind]
    TRANSFORMATION_KIND_BURN_CAPTIONS: _ClassVar[TransformationKind]

class DecisionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_KIND_UNSPECIFIED: _ClassVar[DecisionKind]
    DECISION_KIND_ASSIGNED: _ClassVar[DecisionKind]
    DECISION_KIND_REJECTED: _ClassVar[DecisionKind]
    DECISION_KIND_OVERRIDE: _ClassVar[DecisionKind]
    DECISION_KIND_CANCELLED: _ClassVar[DecisionKind]
    DECISION_KIND_LEASED: _ClassVar[DecisionKind]
    DECISION_KIND_PUBLISHED: _ClassVar[DecisionKind]
    DECISION_KIND_RETRY_SCHEDULED: _ClassVar[DecisionKind]
    DECISION_KIND_GAVE_UP: _ClassVar[DecisionKind]
    DECISION_KIND_RETRIED: _ClassVar[DecisionKind]
    DECISION_KIND_SKIPPED: _ClassVar[DecisionKind]
    DECISION_KIND_AVAILABILITY_CHANGED: _ClassVar[DecisionKind]
    DECISION_KIND_LEASE_EXPIRED: _ClassVar[DecisionKind]
    DECISION_KIND_LATE_PUBLISHED: _ClassVar[DecisionKind]
    DECISION_KIND_MOVED: _ClassVar[DecisionKind]
    DECISION_KIND_DROPPED: _ClassVar[DecisionKind]
    DECISION_KIND_MISSED_SLOT_REPLANNED: _ClassVar[DecisionKind]
    DECISION_KIND_MISSED_SLOT_CANCELLED: _ClassVar[DecisionKind]
    DECISION_KIND_MISSED_SLOT_LATE: _ClassVar[DecisionKind]
    DECISION_KIND_QUOTA_EXHAUSTED: _ClassVar[DecisionKind]

class QuotaWindow(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUOTA_WINDOW_UNSPECIFIED: _ClassVar[QuotaWindow]
    QUOTA_WINDOW_CALENDAR_DAY: _ClassVar[QuotaWindow]
    QUOTA_WINDOW_ROLLING_24H: _ClassVar[QuotaWindow]

class MissedSlotAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MISSED_SLOT_ACTION_UNSPECIFIED: _ClassVar[MissedSlotAction]
    MISSED_SLOT_ACTION_REPLAN: _ClassVar[MissedSlotAction]
    MISSED_SLOT_ACTION_CANCEL: _ClassVar[MissedSlotAction]
    MISSED_SLOT_ACTION_PUBLISH_LATE: _ClassVar[MissedSlotAction]
DAY_OF_WEEK_UNSPECIFIED: DayOfWeek
DAY_OF_WEEK_MONDAY: DayOfWeek
DAY_OF_WEEK_TUESDAY: DayOfWeek
DAY_OF_WEEK_WEDNESDAY: DayOfWeek
DAY_OF_WEEK_THURSDAY: DayOfWeek
DAY_OF_WEEK_FRIDAY: DayOfWeek
DAY_OF_WEEK_SATURDAY: DayOfWeek
DAY_OF_WEEK_SUNDAY: DayOfWeek
ORIENTATION_UNSPECIFIED: Orientation
ORIENTATION_VERTICAL: Orientation
ORIENTATION_HORIZONTAL: Orientation
ORIENTATION_SQUARE: Orientation
VIDEO_STATE_UNSPECIFIED: VideoState
VIDEO_STATE_READY: VideoState
VIDEO_STATE_NOT_READY: VideoState
VIDEO_STATE_RETIRED: VideoState
DISTRIBUTION_METHOD_UNSPECIFIED: DistributionMethod
DISTRIBUTION_METHOD_AUTO_FILTER: DistributionMethod
DISTRIBUTION_METHOD_AUTO_SCHEDULE: DistributionMethod
DISTRIBUTION_METHOD_MANUAL: DistributionMethod
DISTRIBUTION_STATE_UNSPECIFIED: DistributionState
DISTRIBUTION_STATE_ASSIGNED: DistributionState
DISTRIBUTION_STATE_SCHEDULED: DistributionState
DISTRIBUTION_STATE_PUBLISHING: DistributionState
DISTRIBUTION_STATE_PUBLISHED: DistributionState
DISTRIBUTION_STATE_FAILED: DistributionState
DISTRIBUTION_STATE_CANCELLED: DistributionState
TRANSFORMATION_KIND_UNSPECIFIED: TransformationKind
TRANSFORMATION_KIND_TRIM: TransformationKind
TRANSFORMATION_KIND_CROP: TransformationKind
TRANSFORMATION_KIND_BURN_CAPTIONS: TransformationKind
DECISION_KIND_UNSPECIFIED: DecisionKind
DECISION_KIND_ASSIGNED: DecisionKind
DECISION_KIND_REJECTED: DecisionKind
DECISION_KIND_OVERRIDE: DecisionKind
DECISION_KIND_CANCELLED: DecisionKind
DECISION_KIND_LEASED: DecisionKind
DECISION_KIND_PUBLISHED: DecisionKind
DECISION_KIND_RETRY_SCHEDULED: DecisionKind
DECISION_KIND_GAVE_UP: DecisionKind
DECISION_KIND_RETRIED: DecisionKind
DECISION_KIND_SKIPPED: DecisionKind
DECISION_KIND_AVAILABILITY_CHANGED: DecisionKind
DECISION_KIND_LEASE_EXPIRED: DecisionKind
DECISION_KIND_LATE_PUBLISHED: DecisionKind
DECISION_KIND_MOVED: DecisionKind
DECISION_KIND_DROPPED: DecisionKind
DECISION_KIND_MISSED_SLOT_REPLANNED: DecisionKind
DECISION_KIND_MISSED_SLOT_CANCELLED: DecisionKind
DECISION_KIND_MISSED_SLOT_LATE: DecisionKind
DECISION_KIND_QUOTA_EXHAUSTED: DecisionKind
QUOTA_WINDOW_UNSPECIFIED: QuotaWindow
QUOTA_WINDOW_CALENDAR_DAY: QuotaWindow
QUOTA_WINDOW_ROLLING_24H: QuotaWindow
MISSED_SLOT_ACTION_UNSPECIFIED: MissedSlotAction
MISSED_SLOT_ACTION_REPLAN: MissedSlotAction
MISSED_SLOT_ACTION_CANCEL: MissedSlotAction
MISSED_SLOT_ACTION_PUBLISH_LATE: MissedSlotAction

class Transformation(_message.Message):
    __slots__ = ("kind", "trim_seconds", "orientation", "language")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TRIM_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ORIENTATION_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    kind: TransformationKind
    trim_seconds: int
    orientation: Orientation
    language: str
    def __init__(self, kind: _Optional[_Union[TransformationKind, str]] = ..., trim_seconds: _Optional[int] = ..., orientation: _Optional[_Union[Orientation, str]] = ..., language: _Optional[str] = ...) -> None: ...

class ContentFilters(_message.Message):
    __slots__ = ("min_duration_seconds", "max_duration_seconds", "min_height", "min_width", "orientation", "min_views", "required_tags", "any_tags", "exclude_tags", "exclude_watermarked", "languages")
    MIN_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MIN_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MIN_WIDTH_FIELD_NUMBER: _ClassVar[int]
    ORIENTATION_FIELD_NUMBER: _ClassVar[int]
    MIN_VIEWS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_TAGS_FIELD_NUMBER: _ClassVar[int]
    ANY_TAGS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_TAGS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_WATERMARKED_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    min_duration_seconds: int
    max_duration_seconds: int
    min_height: int
    min_width: int
    orientation: Orientation
    min_views: int
    required_tags: _containers.RepeatedScalarFieldContainer[str]
    any_tags: _containers.RepeatedScalarFieldContainer[str]
    exclude_tags: _containers.RepeatedScalarFieldContainer[str]
    exclude_watermarked: bool
    languages: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, min_duration_seconds: _Optional[int] = ..., max_duration_seconds: _Optional[int] = ..., min_height: _Optional[int] = ..., min_width: _Optional[int] = ..., orientation: _Optional[_Union[Orientation, str]] = ..., min_views: _Optional[int] = ..., required_tags: _Optional[_Iterable[str]] = ..., any_tags: _Optional[_Iterable[str]] = ..., exclude_tags: _Optional[_Iterable[str]] = ..., exclude_watermarked: _Optional[bool] = ..., languages: _Optional[_Iterable[str]] = ...) -> None: ...

class Preferences(_message.Message):
    __slots__ = ("tag_weights", "priority")
    class TagWeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    TAG_WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    tag_weights: _containers.ScalarMap[str, float]
    priority: int
    def __init__(self, tag_weights: _Optional[_Mapping[str, float]] = ..., priority: _Optional[int] = ...) -> None: ...

class WeeklySlot(_message.Message):
    __slots__ = ("days", "local_time", "weight")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_TIME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedScalarFieldContainer[DayOfWeek]
    local_time: str
    weight: float
    def __init__(self, days: _Optional[_Iterable[_Union[DayOfWeek, str]]] = ..., local_time: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class TimeWindow(_message.Message):
    __slots__ = ("start_time", "end_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PostingSchedule(_message.Message):
    __slots__ = ("slots", "max_posts_per_day", "blackouts")
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    MAX_POSTS_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    BLACKOUTS_FIELD_NUMBER: _ClassVar[int]
    slots: _containers.RepeatedCompositeFieldContainer[WeeklySlot]
    max_posts_per_day: int
    blackouts: _containers.RepeatedCompositeFieldContainer[TimeWindow]
    def __init__(self, slots: _Optional[_Iterable[_Union[WeeklySlot, _Mapping]]] = ..., max_posts_per_day: _Optional[int] = ..., blackouts: _Optional[_Iterable[_Union[TimeWindow, _Mapping]]] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ("max_attempts", "initial_backoff", "max_backoff", "backoff_multiplier")
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    MAX_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    max_attempts: int
    initial_backoff: _duration_pb2.Duration
    max_backoff: _duration_pb2.Duration
    backoff_multiplier: float
    def __init__(self, max_attempts: _Optional[int] = ..., initial_backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., backoff_multiplier: _Optional[float] = ...) -> None: ...

class Channel(_message.Message):
    __slots__ = ("id", "display_name", "platform", "timezone", "active", "available", "unavailable_until", "unavailable_reason", "filters", "preferences", "schedule", "transformations", "retry_policy", "create_time", "update_time", "missed_slot_policy", "quota_pool_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    UNAVAILABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMATIONS_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    MISSED_SLOT_POLICY_FIELD_NUMBER: _ClassVar[int]
    QUOTA_POOL_IDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    platform: str
    timezone: str
    active: bool
    available: bool
    unavailable_until: _timestamp_pb2.Timestamp
    unavailable_reason: str
    filters: ContentFilters
    preferences: Preferences
    schedule: PostingSchedule
    transformations: _containers.RepeatedCompositeFieldContainer[Transformation]
    retry_policy: RetryPolicy
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    missed_slot_policy: MissedSlotPolicy
    quota_pool_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., platform: _Optional[str] = ..., timezone: _Optional[str] = ..., active: _Optional[bool] = ..., available: _Optional[bool] = ..., unavailable_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unavailable_reason: _Optional[str] = ..., filters: _Optional[_Union[ContentFilters, _Mapping]] = ..., preferences: _Optional[_Union[Preferences, _Mapping]] = ..., schedule: _Optional[_Union[PostingSchedule, _Mapping]] = ..., transformations: _Optional[_Iterable[_Union[Transformation, _Mapping]]] = ..., retry_policy: _Optional[_Union[RetryPolicy, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., missed_slot_policy: _Optional[_Union[MissedSlotPolicy, _Mapping]] = ..., quota_pool_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class QuotaPool(_message.Message):
    __slots__ = ("id", "display_name", "limit", "window", "timezone", "create_time", "update_time", "exhausted_until")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXHAUSTED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    limit: int
    window: QuotaWindow
    timezone: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    exhausted_until: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., limit: _Optional[int] = ..., window: _Optional[_Union[QuotaWindow, str]] = ..., timezone: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exhausted_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MissedSlotPolicy(_message.Message):
    __slots__ = ("grace", "action")
    GRACE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    grace: _duration_pb2.Duration
    action: MissedSlotAction
    def __init__(self, grace: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., action: _Optional[_Union[MissedSlotAction, str]] = ...) -> None: ...

class Video(_message.Message):
    __slots__ = ("id", "source_url", "title", "duration_seconds", "width", "height", "views", "tags", "watermarked", "language", "state", "available_from", "expires_at", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_URL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    VIEWS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    WATERMARKED_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FROM_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    source_url: str
    title: str
    duration_seconds: float
    width: int
    height: int
    views: int
    tags: _containers.RepeatedScalarFieldContainer[str]
    watermarked: bool
    language: str
    state: VideoState
    available_from: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., source_url: _Optional[str] = ..., title: _Optional[str] = ..., duration_seconds: _Optional[float] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., views: _Optional[int] = ..., tags: _Optional[_Iterable[str]] = ..., watermarked: _Optional[bool] = ..., language: _Optional[str] = ..., state: _Optional[_Union[VideoState, str]] = ..., available_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Distribution(_message.Message):
    __slots__ = ("id", "video_id", "channel_id", "method", "state", "scheduled_at", "score", "reason", "details", "transformations", "attempts", "max_attempts", "next_attempt_at", "last_error", "unconfirmed", "external_id", "external_url", "run_id", "actor", "create_time", "update_time", "duplicate_override", "slot_weight")
    ID_FIELD_NUMBER: _ClassVar[int]
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_AT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    TRANSFORMATIONS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    UNCONFIRMED_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_URL_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    SLOT_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    id: str
    video_id: str
    channel_id: str
    method: DistributionMethod
    state: DistributionState
    scheduled_at: _timestamp_pb2.Timestamp
    score: int
    reason: str
    details: _struct_pb2.Struct
    transformations: _containers.RepeatedCompositeFieldContainer[Transformation]
    attempts: int
    max_attempts: int
    next_attempt_at: _timestamp_pb2.Timestamp
    last_error: str
    unconfirmed: bool
    external_id: str
    external_url: str
    run_id: str
    actor: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    duplicate_override: bool
    slot_weight: float
    def __init__(self, id: _Optional[str] = ..., video_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., method: _Optional[_Union[DistributionMethod, str]] = ..., state: _Optional[_Union[DistributionState, str]] = ..., scheduled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., score: _Optional[int] = ..., reason: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., transformations: _Optional[_Iterable[_Union[Transformation, _Mapping]]] = ..., attempts: _Optional[int] = ..., max_attempts: _Optional[int] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., unconfirmed: _Optional[bool] = ..., external_id: _Optional[str] = ..., external_url: _Optional[str] = ..., run_id: _Optional[str] = ..., actor: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duplicate_override: _Optional[bool] = ..., slot_weight: _Optional[float] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("id", "time", "video_id", "channel_id", "distribution_id", "kind", "method", "reason", "details", "actor", "run_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VIDEO_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    DISTRIBUTION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    time: _timestamp_pb2.Timestamp
    video_id: str
    channel_id: str
    distribution_id: str
    kind: DecisionKind
    method: DistributionMethod
    reason: str
    details: _struct_pb2.Struct
    actor: str
    run_id: str
    def __init__(self, id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., video_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., distribution_id: _Optional[str] = ..., kind: _Optional[_Union[DecisionKind, str]] = ..., method: _Optional[_Union[DistributionMethod, str]] = ..., reason: _Optional[str] = ..., details: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., actor: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...
