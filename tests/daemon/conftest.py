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


def _load_fixture(stem: str):  # tests/helpers/<stem>.py, as tests/backend/drivers/remote/conftest.py loads it
    import importlib.util
    import sys

    name = f"guiapp_tests_{stem}"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "helpers" / f"{stem}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


sshd = _load_fixture("sshd").sshd  # a throwaway sshd on 127.0.0.1 (session-scoped)
