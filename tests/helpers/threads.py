"""Running work off the calling thread in tests (no Qt here)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def off_ui(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a plain thread and return its result (tests must not call drivers on the UI thread)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised on the caller's thread
            box["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(30)
    if "error" in box:
        raise box["error"]
    return box.get("result")
