"""What the domain list shows: its columns, item roles, cell texts and sort keys (shared by model, proxy and view)."""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import Qt

from .api import ACTIVE_STATES, state_name
from .stats import DomainRow

COL_NAME, COL_STATE, COL_ID, COL_CPU, COL_MEM, COL_DISK, COL_NET, COL_SCREEN = range(8)
COLUMNS = ("Name", "State", "ID", "CPU", "Memory", "Disk I/O", "Network I/O", "Screen")
COLUMN_TIPS = (
    "Domain name",
    "Run state (icon and text)",
    "Hypervisor domain ID (– when not running)",
    "CPU usage of the guest's vCPUs",
    "Current memory (balloon) of the guest",
    "Disk read + write rate",
    "Network receive + transmit rate",
    "A small live screenshot of each running domain with VNC graphics (Preferences: thumbnails)",
)
LAST_STAT_COL = COL_NET  # a poll tick repaints up to here; the screen column changes on its own
SPARK_COLUMNS = {COL_CPU: "cpu", COL_DISK: "disk", COL_NET: "net"}

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
FILTER_ROLE = Qt.ItemDataRole.UserRole + 2
SPARK_ROLE = Qt.ItemDataRole.UserRole + 3
ROW_ROLE = Qt.ItemDataRole.UserRole + 4  # the DomainRow, or the ConnectionNode for connection rows
KIND_ROLE = Qt.ItemDataRole.UserRole + 5  # "connection" | "domain"
STATE_ROLE = Qt.ItemDataRole.UserRole + 6
THUMB_ROLE = Qt.ItemDataRole.UserRole + 7  # the screen column's QPixmap, or None

ThumbKey = tuple[str, bytes]  # (connection URI, domain UUID)

CONNECTION_MARKER = "connection-row-7f3a"  # the filter text of connection rows (always shown)


def format_bytes(n: float) -> str:
    a = abs(n)
    if a < 1024:
        return f"{n:.0f} B"
    if a < 1 << 20:
        return f"{n / 1024:.1f} KiB"  # dividing by powers of two is exact: the same as dividing step by step
    if a < 1 << 30:
        return f"{n / (1 << 20):.1f} MiB"
    if a < 1 << 40:
        return f"{n / (1 << 30):.1f} GiB"
    return f"{n / (1 << 40):.1f} TiB"


def format_rate(bps: Optional[float]) -> str:
    if bps is None:
        return "–"
    return format_bytes(bps) + "/s"


def plural(n: int, noun: str) -> str:
    """'1 domain', '2 domains'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def cell_text(row: DomainRow, col: int) -> str:
    """What a domain row shows in a column (the model and the fast delegate share it)."""
    if col == COL_NAME:
        return row.name
    if col == COL_STATE:
        return state_name(row.state)
    if col == COL_ID:
        return str(row.id) if row.id >= 0 else "–"
    if col == COL_CPU:
        return "–" if row.cpu is None or row.state not in ACTIVE_STATES else f"{row.cpu:.0f} %"
    if col == COL_MEM:
        return format_bytes(row.mem_kib * 1024) if row.mem_kib else "–"
    if col == COL_DISK:
        return format_rate(row.disk_bps)
    if col == COL_NET:
        return format_rate(row.net_bps)
    return ""


def _opt(v: Optional[float]) -> float:
    return -1.0 if v is None else v


SORT_KEYS: dict[int, Any] = {
    COL_NAME: lambda r, _n: (r.name.lower(),),
    COL_STATE: lambda r, _n: (r.state, r.name.lower()),
    COL_ID: lambda r, _n: (r.id, r.name.lower()),
    COL_CPU: lambda r, _n: (_opt(r.cpu) if r.state in ACTIVE_STATES else -1.0, r.name.lower()),
    COL_MEM: lambda r, _n: (r.mem_kib, r.name.lower()),
    COL_DISK: lambda r, _n: (_opt(r.disk_bps), r.name.lower()),
    COL_NET: lambda r, _n: (_opt(r.net_bps), r.name.lower()),
}
