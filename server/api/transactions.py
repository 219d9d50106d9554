"""The per-RPC transaction, and idempotency for mutating calls (invariant 6).

Every call runs as one unit of work: the use case gets the repositories of one transaction,
and the response message is built before that transaction commits. A mutating call with a
`request_id` that was already applied returns the first response: the response is stored in
the same transaction as the call's effect, so a call that committed just before a crash or a
lost connection is recognised when the client retries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError

from persistence.database import Database
from persistence.repositories import Repositories
from server.api.access import current_audit
from server.usecases.errors import InvalidArgument

T = TypeVar("T")
M = TypeVar("M", bound=Message)


class Transactions:
    """Runs units of work on one database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def read(self, work: Callable[[Repositories], T]) -> T:
        """Runs `work` in a read-only transaction."""
        return self._db.unit_of_work(work, readonly=True)

    def write(self, work: Callable[[Repositories], T]) -> T:
        """Runs `work` in a write transaction (retried whole on transient errors); every
        decision it records carries the call's audit details (on-behalf-of)."""
        return self._db.unit_of_work(work, audit=current_audit.get())

    def idempotent(
        self,
        method: str,
        request: Message,
        request_id: str,
        response_type: type[M],
        work: Callable[[Repositories], M],
    ) -> M:
        """`write`, once per (method, request_id); repeats get the stored answer.

        Without a request_id it simply runs `work`. Two concurrent first calls with one
        request_id: the loser's insert of the stored response violates the primary key, its
        transaction rolls back whole, and it answers with the winner's stored response.
        """
        if not request_id:
            return self.write(work)
        digest = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()

        def once(repos: Repositories) -> M:
            stored = repos.responses.get(method, request_id)
            if stored is not None:
                if stored.request_hash != digest:
                    raise InvalidArgument.one(
                        "request_id", f"{request_id!r} was already used for a different request"
                    )
                return response_type.FromString(stored.response)
            response = work(repos)
            repos.responses.add(
                method, request_id, digest, response.SerializeToString(deterministic=True)
            )
            return response

        try:
            return self.write(once)
        except IntegrityError:
            return self.write(once)
