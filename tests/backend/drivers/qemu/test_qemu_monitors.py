"""The monitor pool (drivers/qemu/monitors.py) with a real tiny guest: nothing is queried while nobody asks
for stats; the first process polling (here one that does not own the guest) keeps one plain QMP client open
on the guest's stats socket (no one-shot connections per tick) and follows the balloon by events; the owner
then answers from its event monitor; a third process falls back to one-shot connections and still gets the
counters."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from qemu_testlib import conn, guest_xml, needs_qemu, wait_console, wait_for, xdg  # noqa: F401 - fixtures

import guiapp.backend as libvirt
from guiapp.backend import constants as C
from guiapp.backend.drivers.qemu import supervise as qemu_driver  # where _qmp finds one_shot

pytestmark = [pytest.mark.qemu, needs_qemu]


def _block(c: libvirt.virConnect) -> dict:
    return c.getAllDomainStats(C.VIR_DOMAIN_STATS_BLOCK | C.VIR_DOMAIN_STATS_BALLOON)[0][1]


def test_stats_sockets_kept_open_and_one_shot_only_as_fallback(conn, xdg, tiny_guest, tmp_path: Path,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    kernel, initrd = tiny_guest
    disk = tmp_path / "d.img"
    disk.write_bytes(b"\0" * 4 * 1024 * 1024)
    extra = (f"<disk type='file' device='disk'><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>"
             "<memballoon model='virtio'/>")
    dom = conn.defineXML(guest_xml("pool", kernel, initrd, extra=extra))
    dom.create()
    wait_console(xdg, "pool")
    owner = conn._driver
    shots: list[str] = []
    real_one_shot = qemu_driver.one_shot

    def counting(path, cmd, *a, **kw):  # type: ignore[no-untyped-def]
        shots.append(cmd)
        return real_one_shot(path, cmd, *a, **kw)
    monkeypatch.setattr(qemu_driver, "one_shot", counting)

    # the owner asks QEMU nothing for stats while nobody reads them
    rounds = owner._stats_pool.rounds
    time.sleep(1.5)
    assert owner._stats_pool.rounds == rounds

    # a second process-like connection (its own driver, no lease): one kept-open client on the stats socket
    other = libvirt.open("qemu:///session")
    third = None
    try:
        drv = other._driver
        assert drv is not owner and other.lookupByName("pool").isActive() == 1
        got = wait_for(lambda: (lambda s: s if s.get("block.count") == 1 and s["block.0.rd.reqs"] > 0 else None)(
            _block(other)), 10, "block counters from the stats socket")
        assert got["block.0.name"] == "drive-vda"
        held = dict(drv._stats_pool._held)
        assert len(held) == 1
        mon = next(iter(held.values())).mon
        for _ in range(3):
            _block(other)
            time.sleep(0.6)
        assert next(iter(drv._stats_pool._held.values())).mon is mon and not mon.closed  # the same client
        assert drv._stats_pool.rounds >= 3
        assert shots == []  # no one-shot connection per tick any more
        # the owner, polling now, answers from its own event monitor (the stats socket is taken)
        wait_for(lambda: _block(conn).get("block.count") == 1, 10, "the owner's block counters")
        assert not owner._stats_pool._held and shots == []
        # the balloon follows QEMU's BALLOON_CHANGE events on that socket
        dom.setMemory(96 * 1024)
        wait_for(lambda: _block(other)["balloon.current"] == 96 * 1024, 10, "the balloon seen by the non-owner")

        # a third one cannot hold the stats socket (lease taken): one-shot connections, still correct counters
        third = libvirt.open("qemu:///session")
        wait_for(lambda: _block(third).get("block.count") == 1, 10, "block counters over one-shot connections")
        assert "query-blockstats" in shots and not third._driver._stats_pool._held
    finally:
        if third is not None:
            third.close()
        other.close()
    dom.destroy()
