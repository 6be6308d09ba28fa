"""Posting to an irreversible action through its server-side confirmation step (marketplace.confirmation)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

TOKEN = re.compile(r'name="confirm_token" value="([^"]+)"')


def token_of(html: str) -> str | None:
    found = TOKEN.search(html)
    return found.group(1) if found else None


def post_confirmed(client, url: str, data: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
                   **kwargs: Any):
    """POST once (the confirmation page), then again with its token; other answers are returned as they are.

    *data* may be a callable when it holds files (a file object can be read only once).
    """
    make = data if callable(data) else (lambda: dict(data or {}))
    first = client.post(url, data=make(), **kwargs)
    token = token_of(first.get_data(as_text=True)) if first.status_code == 200 else None
    if token is None:
        return first
    second = make()
    second["confirm_token"] = token
    return client.post(url, data=second, **kwargs)
