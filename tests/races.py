"""The PostgreSQL race tests' common step: a second request made while a first change holds its row lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session


def second_waits_for_first(other: Session, request: Callable[[], Any], what: str, first: str = "the first") -> Any:
    """With the first change made in *other* (flushed under its lock, not committed), run *request* in a thread:
    it must still be waiting a second later (blocked on the first's lock, not deciding on a stale read); then
    commit *other* and return the request's answer."""
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(request()))
    started = time.monotonic()
    thread.start()
    thread.join(timeout=1.0)
    assert thread.is_alive(), f"{what} did not wait for {first}"
    other.commit()
    thread.join(timeout=30)
    assert time.monotonic() - started >= 1.0
    assert answers, "the second request gave no answer"
    return answers[0]
