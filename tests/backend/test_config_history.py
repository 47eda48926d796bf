"""Config history (guiapp extension): ten edits, diff, revert, undefine, restore; limits; read-only; the hook.

The same scenario runs on the test driver (history in memory) and on the QEMU driver (defined
domains only, history files under the config dir; nothing is started).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

import guiapp.backend as libvirt
from guiapp.backend import history_api
from guiapp.backend.domain import virDomain

QEMU = shutil.which("qemu-system-x86_64")

DOM_TEMPLATE = """<domain type='{type}'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>{mem}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='user'><mac address='52:54:00:12:34:56'/></interface>
  </devices>
</domain>"""


class _Dom:
    """DOM.format(type=, name=, mem=): the domain XML with a UUID derived from the name (a redefine keeps it)."""

    @staticmethod
    def format(**kw: Any) -> str:
        import uuid
        return DOM_TEMPLATE.format(uuid=uuid.uuid5(uuid.NAMESPACE_DNS, kw["name"] + ".guiapp.test"), **kw)


DOM = _Dom()


def _mem(xml: str) -> int:
    return int(re.search(r"<memory unit=.KiB.>(\d+)</memory>", xml).group(1))  # type: ignore[union-attr]


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "run").mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture(params=["test", "qemu"])
def target(request: pytest.FixtureRequest, xdg: Path) -> Iterator[tuple[str, str]]:
    """(uri, domain type) of each driver that keeps history."""
    if request.param == "qemu":
        if QEMU is None:
            pytest.skip("qemu-system-x86_64 is not installed")
        yield "qemu:///session", "qemu"
    else:
        yield "test:///default", "test"


def test_ten_edits_diff_revert_undefine_restore(target: tuple[str, str]) -> None:
    uri, dtype = target
    conn = libvirt.open(uri)
    try:
        dom = conn.defineXML(DOM.format(type=dtype, name="hist", mem=100 * 1024))
        for i in range(1, 11):  # ten edits
            dom = conn.defineXML(DOM.format(type=dtype, name="hist", mem=(100 + i) * 1024))
        versions = dom.guiappConfigVersions()
        assert [v["version"] for v in versions] == list(range(1, 12))
        assert {v["op"] for v in versions} == {"define"}
        assert all(v["uri"] == conn.getURI() and v["name"] == "hist" and v["uuid"] == dom.UUIDString()
                   and v["user"] and v["time"] > 0 and "xml" not in v for v in versions)
        assert [_mem(dom.guiappConfigVersionXML(v)) for v in (1, 5, 11)] == [102400, 104 * 1024, 110 * 1024]
        assert _mem(dom.guiappConfigVersionXML(0)) == 110 * 1024  # 0: the latest

        diff = dom.guiappConfigDiff(2, 5)
        assert diff.startswith("--- version 2\n+++ version 5\n")
        assert "-  <memory unit='KiB'>103424</memory>" in diff and "+  <memory unit='KiB'>106496</memory>" in diff
        assert dom.guiappConfigDiff(11) == ""  # the latest equals the current definition

        assert dom.guiappConfigRevert(3) == 0
        assert _mem(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)) == 102 * 1024
        last = dom.guiappConfigVersions()[-1]
        assert (last["version"], last["op"]) == (12, "revert to 3")
        assert dom.guiappConfigVersionXML(12) == dom.guiappConfigVersionXML(3)
        assert dom.guiappConfigVersionXML(11) != dom.guiappConfigVersionXML(12)  # nothing was lost

        uuid = dom.UUIDString()
        dom.undefine()
        with pytest.raises(libvirt.libvirtError):
            conn.lookupByName("hist")
        gone = conn.guiappDeletedDomains()
        assert [(d["name"], d["uuid"], d["versions"]) for d in gone] == [("hist", uuid, 13)]
        assert gone[0]["expires"] - gone[0]["deleted"] == pytest.approx(30 * 86400)
        assert conn.guiappConfigVersionsByUUID(uuid)[-1]["op"] == "undefine"

        back = conn.guiappRestoreDeleted("hist")
        assert back.UUIDString() == uuid
        assert _mem(back.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)) == 102 * 1024
        assert back.guiappConfigVersions()[-1]["op"] == "restore"
        assert conn.guiappDeletedDomains() == []
        back.undefine()
        old = conn.guiappRestoreDeleted(uuid, 7)  # by UUID, an older version
        assert _mem(old.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)) == 106 * 1024
    finally:
        conn.close()


def test_qemu_history_files_survive_the_connection_and_are_private(xdg: Path) -> None:
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    conn = libvirt.open("qemu:///session")
    dom = conn.defineXML(DOM.format(type="qemu", name="files", mem=65536))
    dom.setMemoryFlags(32768, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    uuid = dom.UUIDString()
    dom.undefine()
    conn.close()
    folder = xdg / "cfg" / "guiapp" / "qemu" / "history" / uuid
    files = sorted(p.name for p in folder.iterdir())
    assert files == [".lock", "1.json", "2.json", "3.json", "deleted"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    again = libvirt.open("qemu:///session")  # another connection (or process) sees the same history
    try:
        assert [d["name"] for d in again.guiappDeletedDomains()] == ["files"]
        assert [v["op"] for v in again.guiappConfigVersionsByUUID(uuid)] == ["define", "setMemoryFlags",
                                                                              "undefine"]
        restored = again.guiappRestoreDeleted("files")
        assert "<currentMemory unit='KiB'>32768</currentMemory>" in \
            restored.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        again.close()


def test_opening_listing_and_reading_write_nothing(xdg: Path) -> None:
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    conn = libvirt.open("qemu:///session")
    try:
        assert conn.guiappDeletedDomains() == []
        assert conn.guiappConfigVersionsByUUID("6695eb01-f6a4-8304-79aa-97f2502e193f") == []
        conn.listAllDomains()
    finally:
        conn.close()
    assert not (xdg / "cfg" / "guiapp" / "qemu" / "history").exists()


def test_history_is_bounded_and_numbers_are_never_reused(target: tuple[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIAPP_HISTORY_MAX", "4")
    uri, dtype = target
    conn = libvirt.open(uri)
    try:
        for i in range(10):
            dom = conn.defineXML(DOM.format(type=dtype, name="bounded", mem=(50 + i) * 1024))
        assert [v["version"] for v in dom.guiappConfigVersions()] == [7, 8, 9, 10]
        with pytest.raises(libvirt.libvirtError) as e:
            dom.guiappConfigVersionXML(2)
        assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
        assert "no kept version 2" in e.value.get_error_message() and "7, 8, 9, 10" in e.value.get_error_message()
    finally:
        conn.close()


def test_grace_period_over_means_no_restore(target: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIAPP_HISTORY_GRACE_DAYS", "0")
    uri, dtype = target
    conn = libvirt.open(uri)
    try:
        conn.defineXML(DOM.format(type=dtype, name="brief", mem=65536)).undefine()
        assert conn.guiappDeletedDomains() == []
        with pytest.raises(libvirt.libvirtError) as e:
            conn.guiappRestoreDeleted("brief")
        assert e.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
        other = conn.defineXML(DOM.format(type=dtype, name="later", mem=65536))  # the next write purges
        assert conn.guiappConfigVersionsByUUID(other.UUIDString())[0]["version"] == 1
    finally:
        conn.close()


def test_live_only_changes_and_unchanged_defines_add_no_version() -> None:
    conn = libvirt.open("test:///default")
    dom = conn.lookupByName("test")  # running, persistent, no history yet
    dom.setMemoryFlags(1024 * 1024, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    assert dom.guiappConfigVersions()[0]["op"] == "existing"  # kept before its first recorded change
    assert len(dom.guiappConfigVersions()) == 1
    conn.defineXML(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert len(dom.guiappConfigVersions()) == 1
    dom.setMemoryFlags(1024 * 1024, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    assert [v["op"] for v in dom.guiappConfigVersions()] == ["existing", "setMemoryFlags"]


def test_operation_label_and_secure_xml() -> None:
    conn = libvirt.open("test:///default")
    xml = DOM.format(type="test", name="sec", mem=65536).replace(
        "</devices>", "<graphics type='vnc' port='-1' passwd='s3cret'/></devices>")
    with history_api.operation("wizard"):
        dom = conn.defineXML(xml)
    assert dom.guiappConfigVersions()[0]["op"] == "wizard"
    assert "s3cret" in dom.guiappConfigVersionXML(1)  # versions hold what XMLDesc(SECURE) would
    assert "s3cret" not in dom.XMLDesc(0)


def test_read_only_connection_gets_no_versions(target: tuple[str, str]) -> None:
    uri, dtype = target
    rw = libvirt.open(uri)
    ro = libvirt.openReadOnly(uri)
    try:
        if dtype == "qemu":
            rw.defineXML(DOM.format(type=dtype, name="rox", mem=65536))
            dom = ro.lookupByName("rox")
        else:
            dom = ro.lookupByName("test")
        calls = [dom.guiappConfigVersions, lambda: dom.guiappConfigVersionXML(1), lambda: dom.guiappConfigDiff(1),
                 lambda: dom.guiappConfigRevert(1), ro.guiappDeletedDomains, lambda: ro.guiappRestoreDeleted("x"),
                 lambda: ro.guiappConfigVersionsByUUID(dom.UUIDString())]
        for call in calls:
            with pytest.raises(libvirt.libvirtError) as e:
                call()
            assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
            assert "read-write" in e.value.get_error_message() or "read only" in e.value.get_error_message()
    finally:
        ro.close()
        rw.close()


def test_bad_arguments_are_clear_errors() -> None:
    conn = libvirt.open("test:///default")
    dom = conn.lookupByName("test")
    for bad in (-1, "1", 1.5, True):
        with pytest.raises(libvirt.libvirtError) as e:
            dom.guiappConfigVersionXML(bad)
        assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    with pytest.raises(libvirt.libvirtError) as e:
        dom.guiappConfigDiff(1)
    assert "has no config history" in e.value.get_error_message()
    with pytest.raises(libvirt.libvirtError) as e:
        conn.guiappConfigVersionsByUUID("not-a-uuid")
    assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


def test_hook_covers_every_listed_method_and_a_method_added_later() -> None:
    for name in history_api.DOMAIN_CHANGE_METHODS + history_api.UNDEFINE_METHODS:
        fn = getattr(virDomain, name, None)
        assert fn is None or getattr(fn, "__guiapp_history__", False), name
    for name in history_api.DEFINE_METHODS:
        assert getattr(libvirt.virConnect, name).__guiapp_history__

    class Later(virDomain):
        __slots__ = ()

        def attachDeviceFlags(self, xml: str, flags: int = 0) -> int:  # what the hardware API adds
            self._conn.defineXML(self.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE).replace(
                "</devices>", xml + "</devices>"))
            return 0

    history_api.install(libvirt.virConnect, Later)
    history_api.install(libvirt.virConnect, Later)  # idempotent
    assert Later.attachDeviceFlags.__guiapp_history__
    conn = libvirt.open("test:///default")
    conn._domain_class = Later
    dom = conn.lookupByName("test")
    dom.attachDeviceFlags("<interface type='user'/>", libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    # one version for the outer call (the inner defineXML is not recorded twice)
    assert [v["op"] for v in dom.guiappConfigVersions()] == ["existing", "attachDeviceFlags"]


# ----------------------------------------------------- the hook changes nothing libvirt users see
sys.path.append("/usr/lib/python3/dist-packages")


NODE = """<node><domain type='test'><name>test</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
<memory>8388608</memory><currentMemory>2097152</currentMemory><vcpu>2</vcpu><os><type arch='i686'>hvm</type></os>
</domain></node>"""


def _outcomes(lib: Any, uri: str) -> list[Any]:
    """Results and error codes of persistent changes, for python3-libvirt and guiapp alike (a node file: libvirt
    shares test:///default between the connections of a process, so other tests would see the changes)."""
    conn = lib.open(uri)
    out: list[Any] = []

    def step(fn: Any) -> None:
        try:
            r = fn()
            out.append(("ok", r if isinstance(r, (int, str)) else type(r).__name__))
        except lib.libvirtError as e:
            out.append(("error", e.get_error_code()))
    dom = conn.lookupByName("test")
    step(lambda: conn.defineXML("<domain"))
    step(lambda: conn.defineXML(DOM.format(type="test", name="h", mem=65536)).name())
    step(lambda: dom.setMemoryFlags(65536, lib.VIR_DOMAIN_AFFECT_CONFIG))
    step(lambda: conn.lookupByName("h").undefine())
    step(lambda: conn.lookupByName("h").undefine())
    step(lambda: dom.undefineFlags(0))
    step(lambda: dom.isPersistent())
    step(lambda: _mem(dom.XMLDesc(0)))
    conn.close()
    return out


def test_wrapped_methods_behave_as_libvirts(tmp_path: Path) -> None:
    real = pytest.importorskip("libvirt")
    node = tmp_path / "node.xml"
    node.write_text(NODE)
    real.registerErrorHandler(lambda *_: None, None)
    libvirt.registerErrorHandler(lambda *_: None, None)
    try:
        ours = _outcomes(libvirt, f"test://{node}")
        assert ours == _outcomes(real, f"test://{node}")
        assert ours[1] == ("ok", "h") and ours[-2:] == [("ok", 0), ("ok", 8388608)]
    finally:
        libvirt.registerErrorHandler(None, None)
        real.registerErrorHandler(None, None)


def test_history_files_are_skipped_when_damaged(xdg: Path) -> None:
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    conn = libvirt.open("qemu:///session")
    try:
        dom = conn.defineXML(DOM.format(type="qemu", name="dmg", mem=65536))
        dom.setMemoryFlags(32768, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        folder = xdg / "cfg" / "guiapp" / "qemu" / "history" / dom.UUIDString()
        (folder / "1.json").write_text("{ not json")
        assert [v["version"] for v in dom.guiappConfigVersions()] == [2]
        dom.setMemoryFlags(16384, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        assert [v["version"] for v in dom.guiappConfigVersions()] == [2, 3]
        assert not [p for p in os.listdir(folder) if p.startswith(".guiapp-tmp")]
    finally:
        conn.close()
