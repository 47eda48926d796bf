"""DomainTreeModel: O(1) lookup by UUID, one batched dataChanged per connection and tick, filter proxy."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex

from guiapp.models.domain_filter import DomainFilterProxy
from guiapp.models.domains import COL_CPU, COL_ID, COL_NET, COL_STATE, DomainTreeModel
from guiapp.models.stats import DomainRow, PollResult


def row(i: int, state: int = 1, cpu: float = 1.0, name: str = "") -> DomainRow:
    u = bytes([i]) * 16
    return DomainRow(uuid=u, uuid_str=u.hex(), name=name or f"d{i:02d}", id=i if state == 1 else -1, state=state,
                     cpu=cpu, mem_kib=1024 * i, maxmem_kib=2048, vcpus=1, disk_bps=0.0, net_bps=float(i))


def test_apply_inserts_updates_with_one_datachanged_and_removes(qapp: Any) -> None:
    m = DomainTreeModel()
    m.add_connection("a")
    m.add_connection("b")
    m.apply(PollResult("a", changed=[row(i) for i in range(10)], full=True))
    m.apply(PollResult("b", changed=[row(i + 50) for i in range(3)], full=True))
    assert m.rowCount() == 2 and m.rowCount(m.connection_index("a")) == 10 and m.domain_count() == 13
    events: list[tuple] = []
    m.dataChanged.connect(lambda tl, br, _roles=None: events.append(
        (tl.parent().row(), tl.row(), tl.column(), br.row(), br.column())))
    m.apply(PollResult("a", changed=[row(2, cpu=5.0), row(7, cpu=9.0), row(4, cpu=3.0)]))
    # one signal spanning rows 2..7, from the first column that changed (CPU: name, state and id did not)
    assert events == [(0, 2, COL_CPU, 7, COL_NET)]
    assert m.domain_row("a", bytes([7]) * 16).cpu == 9.0
    events.clear()
    moved = row(8)
    moved.id = 80
    m.apply(PollResult("a", changed=[row(6, cpu=7.0), moved]))
    assert events == [(0, 6, COL_ID, 8, COL_NET)]
    events.clear()
    m.apply(PollResult("a", changed=[row(3, state=3)]))
    assert events == [(0, 3, COL_STATE, 3, COL_NET)]  # the state column, not the name (no re-sort by name)
    events.clear()
    m.apply(PollResult("a", changed=[]))
    assert events == []
    m.apply(PollResult("a", removed=[bytes([i]) * 16 for i in (0, 1, 5, 9)]))
    node = m.connection("a")
    assert [r.name for r in node.rows] == ["d02", "d03", "d04", "d06", "d07", "d08"]
    assert node.index == {r.uuid: k for k, r in enumerate(node.rows)}
    idx = m.domain_index("a", bytes([6]) * 16, 2)
    assert idx.row() == 3 and idx.column() == 2 and idx.parent() == m.connection_index("a")
    assert m.domain_index("a", bytes([5]) * 16) == QModelIndex()


def test_proxy_filters_by_name_uuid_and_state(qapp: Any) -> None:
    m = DomainTreeModel()
    m.add_connection("a")
    m.apply(PollResult("a", changed=[row(1, name="web"), row(2, state=5, name="db"), row(3, state=3, name="cache")]))
    p = DomainFilterProxy()
    p.setSourceModel(m)

    def names() -> list[str]:
        parent = p.index(0, 0)  # a fresh index: a filter change re-maps the proxy (old indexes are stale)
        return sorted(p.index(r, 0, parent).data() for r in range(p.rowCount(parent)))

    p.set_filter_text("shut off")
    assert names() == ["db"]
    p.set_filter_text(bytes([3]).hex() * 3)
    assert names() == ["cache"]
    p.set_filter_text("WEB")
    assert names() == ["web"]
    p.set_filter_text("nothing")
    assert names() == [] and p.rowCount() == 1


def test_lifecycle_event_sets_state_and_id_at_once(qapp: Any) -> None:
    m = DomainTreeModel()
    m.add_connection("a")
    m.apply(PollResult("a", changed=[row(1, state=5)]))
    u = bytes([1]) * 16
    events: list = []
    m.dataChanged.connect(lambda tl, br, _r=None: events.append((tl.row(), br.row())))
    assert m.set_domain_state("a", u, 1, 7)
    assert (m.domain_row("a", u).state, m.domain_row("a", u).id) == (1, 7) and events == [(0, 0)]
    assert m.set_domain_state("a", u, 5, -1)
    assert (m.domain_row("a", u).state, m.domain_row("a", u).id) == (5, -1)
    assert not m.set_domain_state("a", bytes(16), 1)
