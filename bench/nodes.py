"""Test-driver node files and fresh domain definitions for benchmarks.

Thin layer over :mod:`guiapp.models.demo` (the project's one generator of
many-domain node files) so every benchmark measures the same documents, which
both guiapp's test driver and libvirt's accept::

    from bench.nodes import write_node_file, fresh_definitions
    uri = write_node_file(tmpdir / "node.xml", 500)          # half running
    xmls = fresh_definitions(1000)                          # for defineXML
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from guiapp.models.demo import domain_xml, write_node  # noqa: E402

_RUNSTATE = re.compile(r"<test:runstate\b[^>]*>[^<]*</test:runstate>")


def write_node_file(path: str | Path, count: int, running: float = 0.5, prefix: str = "vm") -> str:
    """Write a node file of ``count`` domains (the first ``running`` fraction running); return its URI."""
    if count < 0:
        raise ValueError(f"count must be >= 0, not {count}")
    if not 0.0 <= running <= 1.0:
        raise ValueError(f"running must be a fraction between 0 and 1, not {running}")
    return write_node(path, count, running=running, prefix=prefix)


def fresh_definitions(count: int, prefix: str = "new") -> list[str]:
    """``count`` domain XMLs with names and UUIDs unused by :func:`write_node_file` nodes (no run state)."""
    if prefix == "vm":
        raise ValueError("prefix 'vm' is the node files' own; pick another so names and UUIDs are fresh")
    return [_RUNSTATE.sub("", domain_xml(i, prefix=prefix)) for i in range(count)]


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Write a test-driver node file with N domains.")
    ap.add_argument("path")
    ap.add_argument("--domains", type=int, default=500)
    ap.add_argument("--running", type=float, default=0.5, help="fraction of domains running (default 0.5)")
    ns = ap.parse_args()
    print(write_node_file(ns.path, ns.domains, ns.running))
