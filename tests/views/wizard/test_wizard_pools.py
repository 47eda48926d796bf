"""The wizard's storage page on storage pools: the default pool preselected, the disk made as a volume,
"Define the default pool" only on a click, the volume browser for existing disks and ISOs."""

from __future__ import annotations

from typing import Any

import pytest
from gui_helpers import off_ui
from wizard_helpers import TITLES, forward, open_wizard

import guiapp.backend as libvirt
from guiapp.views.wizard.finish import CreateError, CreatePlan, DiskPlan, run_create

VOL = "<volume><name>{}</name><capacity unit='M'>{}</capacity><target><format type='{}'/></target></volume>"


def to_storage(wiz: Any) -> Any:
    wiz.kind_page.select("qemu")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("network")
    forward(wiz, TITLES[2])
    forward(wiz, TITLES[3])
    return wiz.storage_page


def pool_names(conn: Any) -> list[str]:
    return off_ui(lambda: sorted(p.name() for p in conn.listAllStoragePools(0)))


def test_size_above_the_pools_free_space_and_bad_names_are_problems(qtbot: Any, test_conn: Any,
                                                                     runner: Any) -> None:
    sp = to_storage(open_wizard(qtbot, test_conn, runner))
    assert sp.chosen_pool() is not None and sp.chosen_pool().name == "default-pool"
    sp.new_size.setValue(200)  # the test pool has 100 GiB
    assert any("has only 100.00 GiB free" in msg for _w, msg in sp.problems())
    sp.new_size.setValue(1)
    assert sp.problems() == []
    sp.new_path.setText("/default-pool/" + "x" * 300)
    assert sp.location.currentData() == "default-pool"
    assert any("at most 255 bytes" in msg for _w, msg in sp.problems())
    sp.new_path.setText("/default-pool/..")
    assert sp.location.currentData() == ""  # normalised away from the pool's folder: a custom path
    sp.new_path.setText("/default-pool/mine.img")
    assert sp.location.currentData() == "default-pool" and sp.problems() == []
    assert sp.disk_plans() == [DiskPlan("/default-pool/mine.img", "qcow2", 1 << 30, pool="default-pool")]


def test_no_pool_offers_to_define_the_default_pool_only_on_a_click(qtbot: Any, test_conn: Any,
                                                                   runner: Any) -> None:
    def drop() -> None:
        p = test_conn.storagePoolLookupByName("default-pool")
        p.destroy()
        p.undefine()
    off_ui(drop)
    wiz = open_wizard(qtbot, test_conn, runner)
    sp = to_storage(wiz)
    assert pool_names(test_conn) == []  # opening and reading defined nothing
    assert not sp.pool_button.isHidden() and sp.location.currentData() == ""
    sp.pool_button.click()
    qtbot.waitUntil(lambda: sp.location.currentData() == "default", timeout=5000)
    assert pool_names(test_conn) == ["default"]
    pool = off_ui(lambda: test_conn.storagePoolLookupByName("default"))
    assert off_ui(lambda: (pool.isActive(), pool.autostart())) == (1, 1)
    assert sp.new_path.text().endswith("/qemu-vm1.qcow2") and sp.pool_button.isHidden()


def test_volume_browser_picks_an_existing_disk_and_an_iso(qtbot: Any, test_conn: Any, runner: Any) -> None:
    def make() -> None:
        p = test_conn.storagePoolLookupByName("default-pool")
        p.createXML(VOL.format("base.img", 16, "raw"), 0)
        p.createXML(VOL.format("install.iso", 4, "raw"), 0)
    off_ui(make)
    sp = to_storage(open_wizard(qtbot, test_conn, runner))
    browser = sp.browse_volumes(None)
    qtbot.waitUntil(lambda: browser.volumes.topLevelItemCount() == 2, timeout=5000)
    names = [browser.volumes.topLevelItem(i).text(0) for i in range(2)]
    assert names == ["base.img", "install.iso"]
    browser.volumes.setCurrentItem(browser.volumes.topLevelItem(0))
    browser.choose_button.click()
    assert sp.mode() == "existing" and sp.existing_path.text() == "/default-pool/base.img"
    assert sp.existing_format.currentText() == "raw"
    row = sp.add_extra("cdrom")
    iso = sp.browse_volumes(row)
    qtbot.waitUntil(lambda: iso.volumes.topLevelItemCount() == 1, timeout=5000)
    assert iso.volumes.topLevelItem(0).text(0) == "install.iso"  # ISO images only for a CD-ROM
    iso.choose_button.click()
    assert row.path.text() == "/default-pool/install.iso"


def test_a_failed_finish_deletes_the_volume_it_made(test_conn: Any) -> None:
    disk = DiskPlan("/default-pool/doomed.qcow2", "qcow2", 1 << 20, pool="default-pool")
    plan = CreatePlan("test:///default", "doomed", "<domain type='test'><name>doomed</name></domain",
                      disks=[disk])
    with pytest.raises(CreateError) as e:
        off_ui(lambda: run_create(test_conn, plan))
    assert "volume doomed.qcow2 of pool default-pool deleted" in str(e.value)
    with pytest.raises(libvirt.libvirtError) as gone:
        off_ui(lambda: test_conn.storageVolLookupByPath(disk.path))
    assert gone.value.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL


def test_a_hostile_volume_name_is_refused_by_the_backend_and_nothing_is_left(test_conn: Any) -> None:
    disk = DiskPlan("/default-pool/a\nb.img", "raw", 1 << 20, pool="default-pool")
    plan = CreatePlan("test:///default", "x", "<domain type='test'><name>x</name></domain>", disks=[disk])
    with pytest.raises(CreateError) as e:
        off_ui(lambda: run_create(test_conn, plan))
    assert e.value.get_error_code() is not None and "Nothing was left behind" in str(e.value)
    vols = off_ui(lambda: test_conn.storagePoolLookupByName("default-pool").listVolumes())
    assert vols == []
