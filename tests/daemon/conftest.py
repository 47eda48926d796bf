from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from daemonlib import Guiappd


@pytest.fixture
def guiappd(tmp_path: Path) -> Iterator[Guiappd]:
    """A guiappd serving test:///default (system-style: read-write and read-only sockets)."""
    d = Guiappd(tmp_path, ["test:///default"], session=False).start()
    yield d
    d.stop()


from helpers.sshd import sshd  # noqa: E402,F401 - a throwaway sshd on 127.0.0.1 (session-scoped)
from helpers.tinyguest import tiny_guest  # noqa: E402,F401 - the tiny Linux guest fixture
