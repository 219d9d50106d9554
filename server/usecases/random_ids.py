"""Random (version 4) UUIDs as text, many at once: a plan's new distributions take one each."""

from __future__ import annotations

import os

import numpy as np


def uuid4_texts(count: int) -> list[str]:
    """`count` texts of random version-4 UUIDs, as `str(uuid.uuid4())` writes them.

    One read of the system's random source for all of them, and no UUID objects: 0.7 against
    4-10 us an id (`uuid4` reads 16 bytes from the kernel every time)."""
    raw = np.frombuffer(os.urandom(16 * count), np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.tobytes().hex()
    return [
        f"{h[k : k + 8]}-{h[k + 8 : k + 12]}-{h[k + 12 : k + 16]}-{h[k + 16 : k + 20]}-"
        f"{h[k + 20 : k + 32]}"
        for k in range(0, 32 * count, 32)
    ]
