from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from daemonlib import Guiappd, qemu_testlib


@pytest.fixture
def guiappd(tmp_path: Path) -> Iterator[Guiappd]:
    """A guiappd serving test:///default (system-style: read-write and read-only sockets)."""
    d = Guiappd(tmp_path, ["test:///default"], session=False).start()
    yield d
    d.stop()


tiny_guest = qemu_testlib().tiny_guest  # the tiny Linux guest fixture of the QEMU driver tests
