"""The client-side ledger: every write the service acknowledged, and every replay's answer.

After the run, `checks.check_ledger` looks each acknowledged write up in the database: an
acknowledged distribution that is missing, a cancel that was undone or a publication that
went back is a lost write. Replays (a request sent again with its request_id, after a
retryable error or on purpose) must get the first answer byte for byte (invariant 6).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Idempotent:
    """One request_id of one method: the request, its first acknowledged answer, replays."""

    method: str
    request_id: str
    request: bytes
    first: bytes | None = None
    replays: int = 0
    mismatches: int = 0


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    idempotent: dict[tuple[str, str], Idempotent] = field(default_factory=dict)
    #: distribution id -> (video id, channel id) from acknowledged Assign / AutoDistribute.
    distributions: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: run id -> (assignment_count, the distribution ids of the answer).
    runs: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    cancels: set[str] = field(default_factory=set)
    #: distribution id -> external id of an acknowledged `published` report.
    published: dict[str, str] = field(default_factory=dict)
    #: distribution id -> how many times an acknowledged Retry put it back.
    retried: Counter[str] = field(default_factory=Counter)
    videos: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    #: video id -> its source family (videos of one family share a normalised source URL).
    family: dict[str, str] = field(default_factory=dict)
    #: every status code seen, one per attempt (OK included).
    codes: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    acknowledged: int = 0
    retried_ok: int = 0  # calls that succeeded after a retryable failure
    given_up: int = 0  # calls that never got an answer within their retry budget
    #: INTERNAL / UNKNOWN answers, and other answers a well-formed request should not get.
    bad_answers: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    replay_mismatches: list[str] = field(default_factory=list)
    #: problems the clients saw in answers (wrong ids, repeated reports that changed things).
    answer_problems: list[str] = field(default_factory=list)

    def code(self, name: str, detail: str = "") -> None:
        with self.lock:
            self.codes[name] += 1
            if name in ("INTERNAL", "UNKNOWN"):
                self.bad_answers.append(f"{name}: {detail}")

    def note_unexpected(self, text: str) -> None:
        with self.lock:
            self.unexpected.append(text)

    def problem(self, text: str) -> None:
        with self.lock:
            self.answer_problems.append(text)

    def begin(self, method: str, request_id: str, request: bytes) -> None:
        with self.lock:
            self.idempotent.setdefault(
                (method, request_id), Idempotent(method, request_id, request)
            )

    def answered(self, method: str, request_id: str, response: bytes, *, replay: bool) -> bool:
        """Records an answer for a request_id; False when it differs from the first one."""
        with self.lock:
            entry = self.idempotent[(method, request_id)]
            if entry.first is None:
                entry.first = response
                self.acknowledged += 1
                return True
            if replay:
                entry.replays += 1
            if response != entry.first:
                entry.mismatches += 1
                self.replay_mismatches.append(
                    f"{method} request_id={request_id}: replay answered {len(response)} bytes "
                    f"that differ from the first {len(entry.first)}"
                )
                return False
            return True

    def acked_requests(self) -> list[Idempotent]:
        with self.lock:
            return [e for e in self.idempotent.values() if e.first is not None]

    def add_distribution(self, distribution_id: str, video_id: str, channel_id: str) -> None:
        with self.lock:
            self.distributions[distribution_id] = (video_id, channel_id)

    def ack(self) -> None:
        with self.lock:
            self.acknowledged += 1

    @property
    def replays(self) -> int:
        with self.lock:
            return sum(e.replays for e in self.idempotent.values())
