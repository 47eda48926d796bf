"""Clean-up of what guiapp before the UUID naming left behind for a network still running after an upgrade.

Run state lives in ``/run`` and survives a guiapp upgrade, so a network
started by an older guiapp is stopped by this one: its dnsmasq files were
named by the network's *name* and its nft table / iptables comment by its
*bridge* (``guiapp_<bridge with [^A-Za-z0-9_] as _>``, which is how ``gx.1``
and ``gx_1`` came to share a table).  Removing them never touches another
network: the name-named dnsmasq is skipped when the name looks like a UUID
(it could be another network's files), and a shared legacy table is kept while
another active network maps to it.
"""

from __future__ import annotations

import re
import uuid as _uuid
from collections.abc import Iterable
from typing import Optional

from ..xml.network import NetworkDef
from . import dnsmasq
from .firewall import tagged_rules
from .runner import Runner


def legacy_table(bridge: str) -> str:
    """The nft table older guiapp gave the network on ``bridge``."""
    return "guiapp_" + re.sub(r"[^A-Za-z0-9_]", "_", bridge)


def _is_uuid(text: str) -> bool:
    try:
        _uuid.UUID(text)
    except ValueError:
        return False
    return True


def remove_legacy(run: Runner, runtime_dir: str, d: NetworkDef, backend: Optional[str],
                  other_bridges: Iterable[str]) -> None:
    """Stop the name-named dnsmasq and remove the bridge-named rules of ``d``, if an older guiapp made them."""
    if not _is_uuid(d.name):
        files = dnsmasq.DnsmasqFiles(runtime_dir, d.name)
        dnsmasq.stop(files)  # only a dnsmasq started with exactly that config file (read_pid checks)
        dnsmasq.remove_files(files)
    if not d.bridge:
        return
    if backend == "nft":
        table = legacy_table(d.bridge)
        if any(legacy_table(b) == table for b in other_bridges):
            return  # still shared with another running network
        if run.run("nft", "list", "table", "ip", table, check=False).returncode == 0:
            run.run("nft", "delete", "table", "ip", table, check=False)
    elif backend == "iptables":
        tag = f"guiapp:{d.bridge}"  # bridge names of running networks are unique: the exact tag is theirs
        for table in ("filter", "nat"):
            for args in tagged_rules(run, table, tag):
                args[0] = "-D"
                run.run("iptables", "-w", "-t", table, *args, check=False)


__all__ = ["legacy_table", "remove_legacy"]
