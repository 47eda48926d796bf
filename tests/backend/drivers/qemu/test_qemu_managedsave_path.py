"""The managed save image's path is built from the UUID only: a hostile domain name never reaches it."""

from __future__ import annotations

from pathlib import Path

from guiapp.backend.drivers.qemu.managedsave import managed_save_path
from guiapp.backend.drivers.qemu.state import Dirs
from guiapp.backend.xml.domain import parse_domain

HOSTILE = "..\\x' ; rm -rf ~ $(id) \u202e.save"


def test_image_path_is_uuid_hex_under_the_config_dir(tmp_path: Path) -> None:
    dirs = Dirs(tmp_path / "run", tmp_path / "cfg")
    d = parse_domain(f"<domain type='qemu'><name>{HOSTILE.replace('&', '&amp;')}</name><memory>65536</memory>"
                     f"<os><type>hvm</type></os></domain>", hypervisor="qemu")
    assert d.name == HOSTILE
    path = managed_save_path(dirs, d.uuid)
    assert path.parent == tmp_path / "cfg" / "save"
    assert path.name == d.uuid.hex() + ".save" and len(path.name) == 37
