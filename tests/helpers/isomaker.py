"""Make small real ISO 9660 images (genisoimage) with chosen PVD ids, bootable so libosinfo looks at them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Optional

import pytest


def need_genisoimage() -> str:
    """The genisoimage binary, or skip (it is in tools/debian-packages.txt)."""
    exe = shutil.which("genisoimage")
    if exe is None:
        pytest.skip("genisoimage is not installed (Debian package genisoimage)")
    return exe


def make_iso(out: Path, volume_id: str, *, publisher: Optional[str] = None, system_id: Optional[str] = None,
             application: Optional[str] = None, files: Optional[dict[str, bytes]] = None) -> Path:
    """Write ``out``: an El Torito bootable ISO holding ``files`` (path -> content) and a dummy boot image."""
    exe = need_genisoimage()
    tree = out.with_suffix(".tree")
    tree.mkdir(parents=True, exist_ok=True)
    (tree / "boot.bin").write_bytes(b"\0" * 2048)
    for rel, data in (files or {}).items():
        p = tree / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    argv = [exe, "-quiet", "-V", volume_id, "-b", "boot.bin", "-c", "boot.cat", "-no-emul-boot", "-o", str(out)]
    for flag, value in (("-publisher", publisher), ("-sysid", system_id), ("-A", application)):
        if value is not None:
            argv[1:1] = [flag, value]
    argv.append(str(tree))
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return out
