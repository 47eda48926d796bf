"""ConnectionManager: remembered URIs, independent pollers (a slow host does not delay another)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from model_helpers import off_ui
from PySide6.QtCore import QCoreApplication

from guiapp.app import make_settings
from guiapp.jobs import JobRunner
from guiapp.models.api import silence_default_error_handler
from guiapp.models.connections import ConnectionManager
from guiapp.models.demo import write_node
from guiapp.models.domains import DomainTreeModel


@pytest.fixture
def manager(qapp: Any, tmp_path: Path) -> Any:
    silence_default_error_handler()
    runner = JobRunner(max_threads=4)
    m = ConnectionManager(runner, DomainTreeModel(), make_settings(str(tmp_path / "s.ini")), interval_ms=100)
    yield m
    m.shutdown()
    runner.wait(10_000)
    QCoreApplication.processEvents()


def test_connections_are_remembered(qtbot: Any, manager: Any, tmp_path: Path) -> None:
    a = write_node(tmp_path / "a.xml", 2)
    b = write_node(tmp_path / "b.xml", 3, prefix="b")
    manager.add(a)
    manager.add(b, remember=True)
    qtbot.waitUntil(lambda: manager.model.domain_count() == 5, timeout=10000)
    again = make_settings(str(tmp_path / "s.ini"))
    assert again.value("connections/uris") == [a, b]
    manager.remove(a)
    assert make_settings(str(tmp_path / "s.ini")).value("connections/uris") in ([b], b)


def test_open_uris_and_read_only(qtbot: Any, manager: Any, tmp_path: Path) -> None:
    rw = write_node(tmp_path / "rw.xml", 1)
    ro = write_node(tmp_path / "ro.xml", 1, prefix="r")
    manager.add(rw, remember=False)
    manager.add(ro, read_only=True, remember=False)
    qtbot.waitUntil(lambda: len(manager.open_uris()) == 2, timeout=10000)
    assert sorted(manager.open_uris()) == sorted([rw, ro])
    assert manager.open_uris(writable=True) == [rw]
    assert not manager.is_read_only(rw) and manager.is_read_only(ro)
    assert manager.is_read_only("test:///not-added")  # nothing may change on a connection it does not hold
    manager.remove(ro)
    assert manager.open_uris() == [rw]


def test_a_slow_host_does_not_delay_another(qtbot: Any, manager: Any, tmp_path: Path) -> None:
    slow = write_node(tmp_path / "slow.xml", 2)
    fast = write_node(tmp_path / "fast.xml", 2, prefix="f")
    manager.add(slow)
    manager.add(fast)
    qtbot.waitUntil(lambda: manager.model.domain_count() == 4, timeout=10000)
    driver = manager.conn(slow)._driver
    lock = getattr(driver, "_lock", None)
    if lock is None:
        pytest.skip("the test driver has no lock to hold")
    polls: dict[str, int] = {slow: 0, fast: 0}
    manager.polled.connect(lambda uri, _res: polls.__setitem__(uri, polls[uri] + 1))
    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with lock:  # the slow host's next stats call blocks until released
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        qtbot.waitUntil(lambda: polls[fast] >= 5, timeout=10000)
        assert polls[slow] <= 1  # at most the tick already past the driver when the lock was taken
        assert manager.connections[slow].busy  # its poll waits; its ticks are skipped, not queued
    finally:
        release.set()
        t.join()
    qtbot.waitUntil(lambda: polls[slow] >= 2, timeout=10000)


def test_interval_change_applies_to_running_pollers(qtbot: Any, manager: Any, tmp_path: Path) -> None:
    uri = write_node(tmp_path / "a.xml", 1)
    manager.add(uri)
    qtbot.waitUntil(lambda: manager.model.domain_count() == 1, timeout=10000)
    manager.set_interval(2500)
    assert manager.connections[uri].timer.interval() == 2500


def test_events_are_relayed_from_the_driver_thread(qtbot: Any, manager: Any, tmp_path: Path) -> None:
    uri = write_node(tmp_path / "a.xml", 2, running=1.0)
    manager.add(uri)
    qtbot.waitUntil(lambda: manager.model.domain_count() == 2, timeout=10000)
    manager.set_interval(60_000)
    conn = manager.conn(uri)
    off_ui(lambda: conn.lookupByName("vm-000").destroy())
    qtbot.waitUntil(lambda: next(r for r in manager.model.connection(uri).rows if r.name == "vm-000").state == 5,
                    timeout=6000)


def test_big_lists_poll_the_watched_domains_and_everything_every_few_ticks(qtbot: Any, manager: Any,
                                                                          tmp_path: Path) -> None:
    uri = write_node(tmp_path / "a.xml", 12, running=1.0)
    manager.full_tick_domains = 4  # 12 domains: every 3rd tick samples all of them
    manager.add(uri)
    qtbot.waitUntil(lambda: manager.model.domain_count() == 12, timeout=10000)
    first = manager.model.connection(uri).rows[0]
    manager.watched = lambda u: {first.uuid} if u == uri else set()
    assert manager.full_every(manager.connections[uri]) == 3
    seen: list[tuple[bool, int]] = []
    manager.polled.connect(lambda u, res: seen.append((res.partial, len(res.changed))))
    qtbot.waitUntil(lambda: len(seen) >= 7, timeout=20000)
    kinds = [p for p, _n in seen[:7]]
    assert kinds.count(False) in (2, 3) and kinds.count(True) >= 4
    assert all(n <= 1 for p, n in seen if p) and any(n == 12 for p, n in seen if not p)
    # an early poll (after lifecycle events) samples everything
    manager.set_interval(60_000)
    qtbot.waitUntil(lambda: not manager.connections[uri].busy, timeout=10000)
    seen.clear()
    manager.poll_now(uri)
    qtbot.waitUntil(lambda: bool(seen), timeout=10000)
    assert seen[0][0] is False


def test_off_screen_rows_of_big_lists_are_swept_at_a_bounded_rate(qtbot: Any, manager: Any, tmp_path: Path) -> None:
    """Above the 'sample every domain up to' preference, a full tick comes every ceil(N / 100) ticks."""
    from guiapp.models.connections import SWEEP_DOMAINS_PER_TICK
    from guiapp.models.stats import PollResult

    uri = write_node(tmp_path / "a.xml", 3)
    manager.add(uri)
    qtbot.waitUntil(lambda: manager.model.domain_count() == 3, timeout=10000)
    entry = manager.connections[uri]
    manager.watched = lambda _u: set()
    for total, preference, every in ((200, 250, 1), (2000, 250, 2000 // SWEEP_DOMAINS_PER_TICK),
                                     (5000, 250, 5000 // SWEEP_DOMAINS_PER_TICK), (2000, 40, 50), (12, 4, 3)):
        entry.last_poll = PollResult(uri, total=total)
        manager.full_tick_domains = preference
        assert manager.full_every(entry) == every, (total, preference)


def test_a_big_list_shows_its_first_screen_before_the_full_tick(qtbot: Any, manager: Any, tmp_path: Path,
                                                                monkeypatch: Any) -> None:
    from guiapp.models import connections

    monkeypatch.setattr(connections, "PREVIEW_ROWS", 3)
    uri = write_node(tmp_path / "a.xml", 12)
    manager.full_tick_domains = 4
    manager.watched = lambda _u: set()
    seen: list[tuple[bool, bool, int, int]] = []
    manager.polled.connect(lambda u, res: seen.append((res.partial, res.full, len(res.changed),
                                                       manager.model.domain_count())))
    manager.add(uri)
    qtbot.waitUntil(lambda: manager.model.domain_count() == 12, timeout=10000)
    assert seen[0] == (True, False, 3, 3)  # the first screen: three rows listed at once
    assert seen[1][:2] == (False, True) and seen[1][3] == 12  # then at once the full tick with every domain
    assert [r.name for r in manager.model.connection(uri).rows][:3] == ["vm-000", "vm-001", "vm-002"]


def test_state_events_poll_just_their_domains_and_a_new_or_gone_domain_polls_all(qtbot: Any, manager: Any,
                                                                               tmp_path: Path) -> None:
    """A bulk action on thousands sends an event batch every EVENT_BATCH_MS: each early poll samples the changed
    domains (and the watched ones), not every domain; an undefined domain needs a full tick."""
    uri = write_node(tmp_path / "a.xml", 12, running=1.0)
    manager.full_tick_domains = 4
    manager.add(uri)
    qtbot.waitUntil(lambda: manager.model.domain_count() == 12, timeout=10000)
    rows = {r.name: r.uuid for r in manager.model.connection(uri).rows}
    manager.watched = lambda u: {rows["vm-000"]} if u == uri else set()
    manager.set_interval(60_000)
    qtbot.waitUntil(lambda: not manager.connections[uri].busy, timeout=10000)
    seen: list[tuple[bool, set]] = []
    manager.polled.connect(lambda u, res: seen.append((res.partial, {r.name for r in res.changed})))
    conn = manager.conn(uri)
    off_ui(lambda: [conn.lookupByName(n).suspend() for n in ("vm-004", "vm-007")])
    qtbot.waitUntil(lambda: bool(seen), timeout=10000)
    partial, names = seen[0]
    assert partial and {"vm-004", "vm-007"} <= names <= {"vm-000", "vm-004", "vm-007"}
    qtbot.waitUntil(lambda: not manager.connections[uri].busy, timeout=10000)
    seen.clear()
    off_ui(lambda: (conn.lookupByName("vm-009").destroy(), conn.lookupByName("vm-009").undefine()))
    qtbot.waitUntil(lambda: manager.model.domain_count() == 11, timeout=10000)
    assert seen and seen[-1][0] is False
