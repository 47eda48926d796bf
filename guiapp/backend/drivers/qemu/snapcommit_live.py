"""Deleting an external snapshot of a RUNNING QEMU domain: live ``block-commit`` (libvirt 9.0's way).

The plan comes from :func:`.snapcommit.plan_commit` (same refusal rules as the offline merge).  Per disk:

* the overlay is the domain's active layer: ``block-commit`` (device = the drive's top node, ``base-node``),
  wait for ``ready``, ``job-complete``, wait for ``concluded``; QEMU then runs on the base image and the
  domain's live and persistent disk source moves back to it;
* the overlay is below the active layer (a child snapshot's overlay sits on it): ``block-commit`` with
  ``top-node``/``base-node``, wait for ``concluded``; QEMU rewrites the child overlay's backing file to
  the base, and the child snapshot's saved definition is re-pointed.

Only after QEMU reported success is anything changed on our side; the merged overlay is removed last.
A failed job or a QEMU dying mid-commit raises, leaving the domain on its overlay (which still holds every
write, so the guest sees the same data) and the snapshot listed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Optional

from ... import constants as C
from ...errors import DriverError
from ...xml.snapshot import SnapshotDef
from .snapcommit import remove_overlays, set_source

if TYPE_CHECKING:
    from .dom import Dom

E = C.VIR_FROM_QEMU
Plan = list[tuple[str, str, str, str, Optional[SnapshotDef]]]
Qmp = Callable[..., Any]


def _same(a: str, b: str) -> bool:
    return a == b or os.path.realpath(a) == os.path.realpath(b)


def _chain(qmp: Qmp, dom: Dom, disk: str) -> list[tuple[str, str]]:
    """(format node name, filename) of the running disk's backing chain, top first."""
    block = next((b for b in qmp(dom, "query-block") if b.get("device") == f"drive-{disk}"), None)
    ins = (block or {}).get("inserted") or {}
    files: list[str] = []
    img = ins.get("image")
    while img:
        files.append(str(img.get("filename", "")))
        img = img.get("backing-image")
    nodes = qmp(dom, "query-named-block-nodes")
    out = []
    for i, f in enumerate(files):
        if i == 0 and ins.get("node-name"):
            out.append((str(ins["node-name"]), f))
            continue
        node = next((n["node-name"] for n in nodes if n.get("drv") not in ("file", None)
                     and _same(str(n.get("file", "")), f)), None)
        out.append((str(node or ""), f))
    return out


def check_live(qmp: Qmp, dom: Dom, plan: Plan) -> list[tuple[str, str, str, bool]]:
    """(root node, top node, base node, overlay is the active layer) per planned disk; refuses when the running chain
    is not the one the plan expects (nothing changed)."""
    out = []
    for disk, overlay, base, _fmt, child in plan:
        chain = _chain(qmp, dom, disk)
        files = [f for _n, f in chain]
        top = next((i for i, f in enumerate(files) if _same(f, overlay)), None)
        if top is None or top + 1 >= len(chain) or not _same(files[top + 1], base):
            raise DriverError(C.VIR_ERR_OPERATION_INVALID, f"disk {disk} of the running domain does not run on "
                              f"{overlay} over {base}; shut the domain off to delete this snapshot, or delete it "
                              f"with METADATA_ONLY (virsh --metadata) to keep every image", E)
        if (top == 0) != (child is None) or not chain[top][0] or not chain[top + 1][0]:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"cannot find QEMU's block nodes of {overlay} and "
                              f"{base} for disk {disk}", E)
        out.append((chain[0][0], chain[top][0], chain[top + 1][0], top == 0))
    return out


def commit_live(qmp: Qmp, job: Callable[..., None], dom: Dom, plan: Plan, moves: dict[str, tuple[str, str]],
                children: list[SnapshotDef]) -> None:
    """Merge each overlay into its base inside the running QEMU, filling ``moves`` (disk -> (base, format)) and
    ``children`` (re-pointed child snapshots) as each disk finishes, like :func:`.snapcommit.commit` returns
    them: when a later disk fails, the caller still records the disks QEMU already moved to their base.
    ``job`` is :meth:`.snapshots.QemuSnapshotOps._job`."""
    nodes = check_live(qmp, dom, plan)
    for (disk, _overlay, base, fmt, child), (root, top, base_node, active) in zip(plan, nodes, strict=True):
        if active:
            job(dom, "block-commit", {"device": top, "base-node": base_node, "auto-dismiss": False},
                on_ready=lambda jid: qmp(dom, "job-complete", {"id": jid}))
            moves[disk] = (base, fmt)
        else:
            job(dom, "block-commit", {"device": root, "top-node": top, "base-node": base_node,
                                      "auto-dismiss": False})
            assert child is not None
            set_source(child.domain, disk, base, fmt)
            children.append(child)
        try:  # a node our blockdev-add made keeps a monitor reference; -drive-made nodes go by themselves
            qmp(dom, "blockdev-del", {"node-name": top})
        except DriverError:
            pass
    remove_overlays(plan)


__all__ = ["check_live", "commit_live"]
