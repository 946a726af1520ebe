"""Polling for a condition that another thread or process makes true."""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_S = 0.05


def eventually(condition: Callable[[], bool], seconds: float = 15) -> bool:
    """Whether ``condition()`` became true within ``seconds`` (checked every ``POLL_S``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL_S)
    return condition()
