"""Config history on the Xen driver (real oxenstored + fake xl): versions under the config dir, undefine, restore."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from xen_seed import FC4

import guiapp.backend as libvirt


@pytest.fixture
def conn(xen_env):
    c = libvirt.open("xen:///")
    yield c
    c.close()


def test_xen_history_edits_undefine_restore(conn, tmp_path: Path) -> None:
    dom = conn.defineXML(FC4)
    dom.setMemoryFlags(65536, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    versions = dom.guiappConfigVersions()
    assert [v["op"] for v in versions] == ["define", "setMemoryFlags"] and versions[0]["uri"] == "xen:///"
    assert "+  <currentMemory unit='KiB'>65536</currentMemory>" in dom.guiappConfigDiff(1, 2)
    uuid = dom.UUIDString()
    folder = tmp_path / "config" / "history" / uuid
    assert sorted(p.name for p in folder.glob("*.json")) == ["1.json", "2.json"]
    assert stat.S_IMODE((folder / "2.json").stat().st_mode) == 0o600
    dom.undefine()
    assert [d["uuid"] for d in conn.guiappDeletedDomains()] == [uuid]
    back = conn.guiappRestoreDeleted(uuid)
    assert back.UUIDString() == uuid and "65536" in back.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
