"""DomainTreeModel: O(1) lookup by UUID, one batched dataChanged per connection and tick, filter proxy."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from guiapp.models.demo import write_node
from guiapp.models.domain_filter import DomainFilterProxy
from guiapp.models.domains import COL_CPU, COL_ID, COL_NET, COL_STATE, ConnectionNode, DomainTreeModel
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


def test_the_filter_proxy_answers_flags_as_the_model_does(qapp: Any, tmp_path: Any) -> None:
    """The proxy answers flags itself (a relayout asks twice per row): the model's answer for every row of two
    connections, filtered or not."""
    import guiapp.backend as libvirt
    from guiapp.models.domain_filter import DomainFilterProxy
    from guiapp.models.stats import StatsSampler

    model = DomainTreeModel()
    proxy = DomainFilterProxy()
    proxy.setSourceModel(model)
    for name, n in (("a", 5), ("b", 3)):
        uri = write_node(tmp_path / f"{name}.xml", n, prefix=name)
        model.add_connection(uri)
        model.apply(StatsSampler(uri).sample(libvirt.open(uri)))
    def check(text: str) -> int:
        seen = 0
        for r in range(proxy.rowCount()):
            parent = proxy.index(r, 0)
            assert proxy.flags(parent) == model.flags(proxy.mapToSource(parent)), text
            for k in range(proxy.rowCount(parent)):
                for col in (0, 3):
                    idx = proxy.index(k, col, parent)
                    assert proxy.flags(idx) == model.flags(proxy.mapToSource(idx)), (text, r, k)
                    seen += 1
        return seen
    for text in ("", "a-00", "b", "nothing", "a", "a-0", ""):
        proxy.set_filter_text(text)
        assert check(text) or text == "nothing"
    assert proxy.flags(proxy.index(99, 0)) == model.flags(model.index(99, 0))
    # the proxy's mappings change under it: a connection added and removed, the model sorted, reset
    uri = write_node(tmp_path / "c.xml", 2, prefix="c")
    model.add_connection(uri)
    model.apply(StatsSampler(uri).sample(libvirt.open(uri)))
    assert check("added") == 20
    model.sort(COL_ID, Qt.SortOrder.DescendingOrder)
    assert check("sorted") == 20
    model.remove_connection(uri)
    assert check("removed") == 16
    model.beginResetModel()
    model.endResetModel()
    assert check("reset") == 16


def test_typing_on_without_hiding_a_row_relabels_without_a_relayout(qapp: Any, tmp_path: Any) -> None:
    """Each relayout walks every row (40-60 ms at 2000 domains): a longer filter text that hides nothing only
    relabels the connections; one that hides rows, or one typed after a state change, filters again."""
    import guiapp.backend as libvirt
    from guiapp.models.domain_filter import DomainFilterProxy
    from guiapp.models.stats import StatsSampler

    model = DomainTreeModel()
    proxy = DomainFilterProxy()
    proxy.setSourceModel(model)
    uri = write_node(tmp_path / "a.xml", 12)
    model.add_connection(uri)
    model.set_connection_status(uri, ConnectionNode.CONNECTED)
    model.apply(StatsSampler(uri).sample(libvirt.open(uri)))
    layouts: list[int] = []
    labels: list[str] = []
    proxy.layoutChanged.connect(lambda *_: layouts.append(1))
    proxy.dataChanged.connect(lambda top, *_: labels.append(top.data()))

    def shown() -> int:  # (a proxy index dies with a relayout: asked anew each time)
        return proxy.rowCount(proxy.index(0, 0))
    last = model.connection(uri).rows[-1]
    model.set_domain_states(uri, {last.uuid: (3, None)})  # without a filter every row shows, whatever changed
    proxy.set_filter_text("v")  # every name has a 'v': nothing hidden
    assert layouts == [] and shown() == 12 and labels and labels[-1].endswith("(12 of 12 domains shown)")
    proxy.set_filter_text("vm-")
    assert layouts == [] and shown() == 12
    proxy.set_filter_text("vm-00")  # hides vm-010, vm-011
    assert layouts == [1] and shown() == 10
    proxy.set_filter_text("vm-0")  # shorter: may show more, filters again
    assert layouts == [1, 1] and shown() == 12
    first = model.connection(uri).rows[0]
    model.set_domain_states(uri, {first.uuid: (3, None)})  # a state changed since: the shown rows may be stale
    proxy.set_filter_text("vm-0 ")  # (stripped: the same text) applied again
    proxy.set_filter_text("vm-0")
    assert len(layouts) >= 3
    layouts.clear()
    proxy.set_filter_text("paused")
    assert layouts == [1] and shown() == 2  # the two paused above
