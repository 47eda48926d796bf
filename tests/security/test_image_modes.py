"""Disk images the wizard creates are readable by their owner only (issue 11, item 11)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.views.wizard.finish import DiskPlan, create_disk_image

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img is not installed")


@pytest.mark.parametrize("fmt", ["qcow2", "raw"])
def test_new_images_are_0600_and_valid(tmp_path: Path, fmt: str) -> None:
    old = os.umask(0o022)  # a usual umask would give 0644
    try:
        path = tmp_path / f"disk.{fmt}"
        create_disk_image(DiskPlan(str(path), fmt, 1024 * 1024))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(path)], capture_output=True,
                                     text=True, check=True).stdout)
    assert info["format"] == fmt and info["virtual-size"] == 1024 * 1024


def test_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "taken.img"
    path.write_bytes(b"precious")
    with pytest.raises(DriverError) as ei:
        create_disk_image(DiskPlan(str(path), "raw", 1024 * 1024))
    assert ei.value.code == C.VIR_ERR_OPERATION_FAILED and "not overwritten" in ei.value.detail
    assert path.read_bytes() == b"precious"
