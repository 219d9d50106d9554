"""Invariant 6: a mutating call with a `request_id` that was already applied returns the first
response. The response is stored in the same transaction as the call's effect, so a call that
committed just before a crash or a lost connection is recognised when the client retries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from persistence import models
from persistence.database import Database
from server.errors import InvalidArgument

M = TypeVar("M", bound=Message)


def run_idempotent(
    db: Database,
    method: str,
    request: Message,
    request_id: str,
    response_type: type[M],
    work: Callable[[Session], M],
) -> M:
    """Runs `work` in a transaction, once per (method, request_id); repeats get the stored answer.

    Without a request_id it simply runs `work`. Two concurrent first calls with one request_id:
    the loser's insert of the stored response violates the primary key, its transaction rolls
    back whole, and it answers with the winner's stored response.
    """
    if not request_id:
        return db.transaction(work)
    digest = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()

    def once(session: Session) -> M:
        stored = session.get(models.StoredResponse, (method, request_id))
        if stored is not None:
            if stored.request_hash != digest:
                raise InvalidArgument.one(
                    "request_id", f"{request_id!r} was already used for a different request"
                )
            return response_type.FromString(stored.response)
        response = work(session)
        session.add(
            models.StoredResponse(
                method=method,
                request_id=request_id,
                request_hash=digest,
                response=response.SerializeToString(deterministic=True),
            )
        )
        session.flush()
        return response

    try:
        return db.transaction(once)
    except IntegrityError:
        return db.transaction(once)
