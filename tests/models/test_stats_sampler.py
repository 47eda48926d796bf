"""StatsSampler on the real test driver: one bulk call per tick, only changed rows, removals."""

from __future__ import annotations

import time
from typing import Any

import pytest
from model_helpers import off_ui

from guiapp.models.stats import SPARK_POINTS, StatsSampler

RUNNING, PAUSED, SHUTOFF = 1, 3, 5


def test_first_tick_has_every_row_then_only_the_changing_ones(conn: Any, node_uri: str) -> None:
    s = StatsSampler(node_uri)
    first = off_ui(lambda: s.sample(conn))
    assert first.full and first.total == 12 and len(first.changed) == 12 and first.removed == []
    by_name = {r.name: r for r in first.changed}
    assert by_name["vm-000"].state == RUNNING and by_name["vm-000"].id > 0
    assert by_name["vm-006"].state == PAUSED and by_name["vm-011"].state == SHUTOFF and by_name["vm-011"].id == -1
    assert by_name["vm-000"].mem_kib > 0 and by_name["vm-000"].vcpus >= 1
    time.sleep(0.05)
    second = off_ui(lambda: s.sample(conn))
    assert not second.full and second.total == 12
    changed = {r.name for r in second.changed}
    # running guests' counters move; paused and shut-off ones are quiet and cost nothing
    assert changed == {f"vm-{i:03d}" for i in range(6)}
    for r in second.changed:
        assert r.cpu is not None and 0.0 <= r.cpu <= 100.0
        assert r.disk_bps is not None and r.disk_bps >= 0 and r.net_bps is not None and r.net_bps >= 0
        cpu_line = r.spark("cpu")
        assert len(cpu_line) == 2 and all(0.0 <= v <= 1.0 for v in cpu_line)
        assert cpu_line[-1] == pytest.approx(r.cpu / 100.0)


def test_state_change_and_removal_are_reported(conn: Any, node_uri: str) -> None:
    s = StatsSampler(node_uri)
    off_ui(lambda: s.sample(conn))
    off_ui(lambda: s.sample(conn))
    off_ui(lambda: conn.lookupByName("vm-010").create())
    uuid_11 = off_ui(lambda: conn.lookupByName("vm-011").UUID())
    off_ui(lambda: conn.lookupByName("vm-011").undefine())
    res = off_ui(lambda: s.sample(conn))
    assert res.removed == [uuid_11]
    started = next(r for r in res.changed if r.name == "vm-010")
    assert started.state == RUNNING and started.id > 0
    assert s.history(uuid_11) is None
    assert len(s.history(started.uuid).cpu) >= 1


def test_quiet_rows_stop_changing_once_their_sparklines_are_flat(conn: Any, node_uri: str) -> None:
    s = StatsSampler(node_uri)
    off_ui(lambda: s.sample(conn))
    off_ui(lambda: conn.lookupByName("vm-000").destroy())
    seen = []
    for _ in range(SPARK_POINTS + 2):
        res = off_ui(lambda: s.sample(conn))
        seen.append("vm-000" in {r.name for r in res.changed})
    assert seen[0] is True  # the state change itself
    assert seen[-1] is False  # then nothing to redraw


def test_a_partial_tick_samples_only_the_given_domains_and_removes_nothing(conn: Any, node_uri: str) -> None:
    s = StatsSampler(node_uri)
    first = off_ui(lambda: s.sample(conn, only=[]))  # no full tick yet: a partial request is a full one
    assert first.full and not first.partial and len(first.changed) == 12
    by_name = {r.name: r.uuid for r in first.changed}
    time.sleep(0.05)
    part = off_ui(lambda: s.sample(conn, only=[by_name["vm-000"], by_name["vm-001"], by_name["vm-011"]]))
    assert part.partial and not part.full and part.removed == [] and part.total == 12
    # the running two move, the shut-off one is quiet; the other running domains are not sampled at all
    assert {r.name for r in part.changed} == {"vm-000", "vm-001"}
    assert len(s.history(by_name["vm-000"]).cpu) == 2 and len(s.history(by_name["vm-002"]).cpu) == 1
    full = off_ui(lambda: s.sample(conn))
    assert not full.partial and {r.name for r in full.changed} == {f"vm-{i:03d}" for i in range(6)}


def test_a_partial_tick_on_a_vanished_domain_turns_into_a_full_one(conn: Any, node_uri: str) -> None:
    s = StatsSampler(node_uri)
    by_name = {r.name: r.uuid for r in off_ui(lambda: s.sample(conn)).changed}
    off_ui(lambda: conn.lookupByName("vm-011").undefine())
    res = off_ui(lambda: s.sample(conn, only=[by_name["vm-011"], by_name["vm-000"]]))
    assert not res.partial and res.removed == [by_name["vm-011"]] and res.total == 11


def test_preview_of_a_big_list_samples_the_first_screen_by_name_then_the_full_tick_the_rest(
        conn: Any, node_uri: str) -> None:
    s = StatsSampler(node_uri)
    assert off_ui(lambda: s.preview(conn, 20)) is None  # 12 domains: not a big list for 20 rows
    assert off_ui(lambda: s.preview(conn, 3, above=12)) is None
    first = off_ui(lambda: s.preview(conn, 3, above=4))
    assert first.partial and not first.full and first.total == 12 and first.removed == []
    assert [r.name for r in first.changed] == ["vm-000", "vm-001", "vm-002"]
    full = off_ui(lambda: s.sample(conn))
    assert full.full and not full.partial and full.total == 12 and full.removed == []
    assert {r.name for r in full.changed} >= {f"vm-{i:03d}" for i in range(3, 12)}  # the rest, listed now


def test_a_paced_tick_asks_in_chunks_and_gives_what_one_call_gives(conn: Any, node_uri: str, monkeypatch: Any) -> None:
    """With a pacer, a big tick asks FETCH_CHUNK domains per call and paces between calls and while turning the
    answer into rows; the rows are those an unpaced sampler makes from the same node."""
    from guiapp.models import stats

    monkeypatch.setattr(stats, "FETCH_CHUNK", 5)
    calls: list[int] = []
    real = conn.domainListGetStats
    monkeypatch.setattr(conn, "domainListGetStats", lambda doms, *a: calls.append(len(doms)) or real(doms, *a),
                        raising=False)
    paced, plain = StatsSampler(node_uri), StatsSampler(node_uri)
    paces: list[int] = []
    first = off_ui(lambda: paced.sample(conn, pace=lambda: paces.append(1)))
    assert calls == [5, 5, 2] and len(paces) >= 3
    reference = off_ui(lambda: plain.sample(conn))
    assert first.full and first.total == 12 and first.removed == []
    assert sorted((r.name, r.state, r.id, r.mem_kib, r.vcpus) for r in first.changed) == sorted(
        (r.name, r.state, r.id, r.mem_kib, r.vcpus) for r in reference.changed)
    calls.clear()
    by_name = {r.name: r.uuid for r in first.changed}
    part = off_ui(lambda: paced.sample(conn, only=[by_name[f"vm-{i:03d}"] for i in range(7)], pace=lambda: None))
    assert part.partial and calls == [5, 2]


def test_a_paced_full_tick_when_a_domain_goes_away_between_the_list_and_its_stats(conn: Any, node_uri: str,
                                                                                  monkeypatch: Any) -> None:
    """A chunk naming a domain undefined since the list: one call for every domain instead, the domain removed."""
    from guiapp.models import stats

    monkeypatch.setattr(stats, "FETCH_CHUNK", 5)
    s = StatsSampler(node_uri)
    gone = {r.name: r.uuid for r in off_ui(lambda: s.sample(conn)).changed}["vm-011"]
    whole: list[int] = []
    real = conn.getAllDomainStats
    monkeypatch.setattr(conn, "getAllDomainStats", lambda *a: whole.append(1) or real(*a), raising=False)
    undefined: list[int] = []

    def pace() -> None:  # the first pace comes after the list: listed, then gone
        if not undefined:
            conn.lookupByName("vm-011").undefine()
            undefined.append(1)
    res = off_ui(lambda: s.sample(conn, pace=pace))
    assert whole == [1] and not res.partial and res.removed == [gone] and res.total == 11
