"""virsh's table layout, shared by the domain and network commands of guiapp-virsh."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Optional


def display_width(text: str) -> int:
    """Terminal columns taken by ``text`` (wide East Asian characters count twice)."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in text)


def format_table(header: Optional[list[str]], rows: Iterable[list[str]]) -> str:
    """virsh's vshTable: one leading space per cell, columns padded to width + 2, dashed separator.

    Without ``header`` (virsh -q) only the rows are printed, sized on their own.
    """
    rows = [header, *rows] if header is not None else list(rows)
    if not rows:
        return ""
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            pad = "" if i == len(row) - 1 else " " * (widths[i] + 2 - display_width(cell))
            cells.append(" " + cell + pad)
        out.append("".join(cells) + "\n")  # virsh keeps the padding before an empty last cell
        if n == 0 and header is not None:
            out.append("-" * sum(w + 3 for w in widths) + "\n")
    return "".join(out)
