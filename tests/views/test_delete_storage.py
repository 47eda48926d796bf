"""Delete of a domain: its disks are listed with checkboxes (unticked when another domain uses them) and
deleted through the storage API — as volumes where a pool holds them, as files only where none does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gui_helpers import off_ui
from PySide6.QtCore import Qt
from test_main_window import rows_by_name, select

import guiapp.backend as libvirt
from guiapp.models.demo import write_node
from guiapp.views.main_window.delete_storage import DiskChoice, delete_disks, plan_disks

VOL = "<volume><name>{}</name><capacity unit='M'>8</capacity><target><format type='raw'/></target></volume>"
EXTRA = """<domain type='test'><name>{name}</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>
<devices><disk type='file' device='disk'><source file='{path}'/><target dev='vda'/></disk></devices></domain>"""


def _items(dialog: Any) -> dict[str, Any]:
    return {dialog.files.item(i).data(Qt.ItemDataRole.UserRole): dialog.files.item(i)
            for i in range(dialog.files.count())}


def test_delete_lists_volumes_unticks_shared_ones_and_deletes_through_the_pool(qtbot: Any, window: Any,
                                                                              tmp_path: Path) -> None:
    uri = write_node(tmp_path / "node.xml", 4, running=0.5, disk_dir="/default-pool")
    window.manager.add(uri)
    qtbot.waitUntil(lambda: window.model.domain_count() == 4, timeout=10000)
    conn = window.manager.conn(uri)
    loose = tmp_path / "loose.img"  # in no pool: removed as a file (local connection)
    loose.write_bytes(b"x")

    def setup() -> Any:
        pool = conn.storagePoolLookupByName("default-pool")
        for i in range(4):
            pool.createXML(VOL.format(f"vm-{i:03d}.img"), 0)
        conn.defineXML(EXTRA.format(name="sharer", path="/default-pool/vm-001.img"))
        conn.defineXML(EXTRA.format(name="loner", path=str(loose)))
        return pool
    pool = off_ui(setup)
    qtbot.waitUntil(lambda: window.model.domain_count() == 6, timeout=10000)
    select(window, uri, "vm-001", "vm-003", "loner")
    window.domain_actions.actions["delete"].trigger()
    qtbot.waitUntil(lambda: getattr(window, "delete_dialog", None) is not None and window.delete_dialog.isVisible(),
                    timeout=10000)
    dialog = window.delete_dialog
    items = _items(dialog)
    assert set(items) == {"/default-pool/vm-001.img", "/default-pool/vm-003.img", str(loose)}
    shared = items["/default-pool/vm-001.img"]
    assert shared.checkState() == Qt.CheckState.Unchecked and "'sharer'" in shared.text()
    assert items["/default-pool/vm-003.img"].checkState() == Qt.CheckState.Checked
    assert "volume vm-003.img in pool default-pool" in items["/default-pool/vm-003.img"].text()
    assert "in no pool" in items[str(loose)].text()
    dialog.remove_disks.setChecked(True)
    dialog.delete_button.click()
    qtbot.waitUntil(lambda: set(rows_by_name(window, uri)) == {"vm-000", "vm-002", "sharer"}, timeout=10000)
    qtbot.waitUntil(lambda: not loose.exists(), timeout=6000)
    left = sorted(off_ui(lambda: [v.name() for v in pool.listAllVolumes()]))
    assert left == ["vm-000.img", "vm-001.img", "vm-002.img"]
    assert not window.error_dialogs


def test_remote_style_connection_keeps_files_no_pool_holds(tmp_path: Path) -> None:
    conn = libvirt.open(write_node(tmp_path / "n.xml", 1, disk_dir=str(tmp_path)))
    try:
        f = tmp_path / "vm-000.img"
        f.write_bytes(b"x")
        dom = conn.lookupByName("vm-000")
        plan = plan_disks(conn, [(dom.UUID(), "vm-000")])
        assert plan == {"vm-000": [DiskChoice("vm-000", str(f), None, [])]}
        errors = delete_disks(conn, plan["vm-000"], local=False)
        assert f.exists() and len(errors) == 1 and "only on local connections" in errors[0]
        assert delete_disks(conn, plan["vm-000"], local=True) == [] and not f.exists()
    finally:
        conn.close()


def test_a_volume_a_running_domain_uses_is_refused_and_reported(tmp_path: Path) -> None:
    conn = libvirt.open(write_node(tmp_path / "n.xml", 2, running=1.0, disk_dir="/default-pool"))
    try:
        pool = conn.storagePoolLookupByName("default-pool")
        pool.createXML(VOL.format("vm-000.img"), 0)
        choice = DiskChoice("other", "/default-pool/vm-000.img", ("default-pool", "vm-000.img"), ["vm-000"])
        errors = delete_disks(conn, [choice], local=True)
        assert len(errors) == 1 and "vm-000" in errors[0], errors
        assert [v.name() for v in pool.listAllVolumes()] == ["vm-000.img"]
    finally:
        conn.close()
