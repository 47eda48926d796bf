"""Domain actions: one QAction each, enabled by the selected domains' states, run on the job pool."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence

from ...models.api import (
    STATE_BLOCKED,
    STATE_CRASHED,
    STATE_NOSTATE,
    STATE_PAUSED,
    STATE_PMSUSPENDED,
    STATE_RUNNING,
    STATE_SHUTDOWN,
    STATE_SHUTOFF,
    state_name,
)
from ...models.stats import DomainRow
from ...vnc.address import has_vnc_graphics  # noqa: F401 - the window imports it from here
from ..icons import icon, state_icon

RUNNING = frozenset({STATE_RUNNING, STATE_BLOCKED})
ACTIVE = frozenset({STATE_RUNNING, STATE_BLOCKED, STATE_PAUSED, STATE_SHUTDOWN, STATE_PMSUSPENDED, STATE_CRASHED})
ANY = frozenset(range(0, 8))

CONSOLE_NO_VNC = "This domain has no VNC graphics, so it has no graphical console"


@dataclass(frozen=True)
class DomainOp:
    """One action on domains: which states allow it and the API call it makes."""

    key: str
    label: str
    api: str  # the libvirt C name, for error dialogs
    states: frozenset
    allowed_text: str  # "only shut off or crashed domains can start"
    call: Optional[Callable[[Any], Any]]  # fn(virDomain) on the pool; None for UI-driven actions
    shortcut: str = ""
    tip: str = ""
    long: bool = False
    icon_state: Any = None
    icon_name: str = ""
    mutating: bool = True  # refused on read-only connections


OPS: dict[str, DomainOp] = {op.key: op for op in (
    DomainOp("start", "&Start", "virDomainCreate", frozenset({STATE_SHUTOFF, STATE_CRASHED, STATE_NOSTATE}),
             "only shut off or crashed domains can be started", lambda d: d.create(), "Ctrl+B",
             "Start (boot) the selected domains", long=True, icon_state=STATE_RUNNING),
    DomainOp("pause", "&Pause", "virDomainSuspend", RUNNING, "only running domains can be paused",
             lambda d: d.suspend(), "Ctrl+P", "Pause the selected domains' vCPUs", icon_state=STATE_PAUSED),
    DomainOp("resume", "&Resume", "virDomainResume", frozenset({STATE_PAUSED}), "only paused domains can be resumed",
             lambda d: d.resume(), "Ctrl+Shift+P", "Resume the selected paused domains", icon_state=STATE_RUNNING),
    DomainOp("shutdown", "Shut &Down", "virDomainShutdown", RUNNING, "only running domains can be shut down",
             lambda d: d.shutdown(), "Ctrl+Shift+D", "Ask the guests to shut down (ACPI power button)",
             icon_state=STATE_SHUTDOWN),
    DomainOp("reboot", "Re&boot", "virDomainReboot", RUNNING, "only running domains can be rebooted",
             lambda d: d.reboot(0), "Ctrl+Shift+R", "Ask the guests to reboot", icon_name="action-reboot"),
    DomainOp("destroy", "&Force Off", "virDomainDestroy", ACTIVE, "the domain is not running",
             lambda d: d.destroy(), "Ctrl+Shift+F", "Power off at once, like pulling the plug (no guest shutdown)",
             icon_state=STATE_CRASHED),
    DomainOp("managed_save", "Sa&ve", "virDomainManagedSave", frozenset({STATE_RUNNING, STATE_BLOCKED, STATE_PAUSED}),
             "only running or paused domains can be saved", lambda d: d.managedSave(0), "Ctrl+S",
             "Save the domains' memory state where the hypervisor keeps it and stop them; Start restores it",
             long=True, icon_name="action-save"),
    DomainOp("save", "Save to &File…", "virDomainSave", frozenset({STATE_RUNNING, STATE_BLOCKED, STATE_PAUSED}),
             "only running or paused domains can be saved", None, "Ctrl+Shift+S",
             "Save the domains' memory state to files you choose and stop them (Restore reads them back)",
             long=True, icon_name="action-save"),
    DomainOp("delete", "&Delete…", "virDomainUndefine", ANY, "", None, "Delete",
             "Remove the domains' definitions (optionally their disk files)", long=True, icon_name="action-delete"),
    DomainOp("clone", "C&lone…", "guiappClone", ANY, "", None, "Ctrl+Shift+L",
             "Copy the domain under a new name, UUID and MACs; disks copied, linked (qcow2) or shared",
             long=True),
    DomainOp("details", "&Open Details", "virDomainGetXMLDesc", ANY, "", None, "Ctrl+I",
             "Show the details window (overview, graphs, CPUs, memory, boot, devices, XML)",
             icon_name="action-details", mutating=False),
    DomainOp("console", "Open &Console", "virDomainGetXMLDesc",
             frozenset({STATE_RUNNING, STATE_BLOCKED, STATE_PAUSED}), "only running or paused domains have a screen",
             None, "Ctrl+T", "Show the domains' screens (VNC): keyboard, mouse, Send Key, screenshots",
             icon_name="action-console", mutating=False),
    DomainOp("external", "Open in E&xternal Viewer", "virDomainGetXMLDesc",
             frozenset({STATE_RUNNING, STATE_BLOCKED, STATE_PAUSED}), "only running or paused domains have a screen",
             None, "Ctrl+Shift+T", "Open the domain's screen in your own VNC viewer (the command is set in "
             "Preferences)", icon_name="action-console", mutating=False),
)}
SCREEN_OPS = frozenset({"console", "external"})  # need VNC graphics


def disabled_reason(op: DomainOp, rows: list[DomainRow], read_only: frozenset = frozenset()) -> str:
    """Why ``op`` is disabled for ``rows`` ('' when it is enabled); ``read_only``: UUIDs on read-only connections."""
    if not rows:
        return f"{op.label.replace('&', '').rstrip('…')}: select one or more domains first"
    if op.mutating and read_only:
        writable = [r for r in rows if r.uuid not in read_only]
        if not writable:
            return (f"{op.label.replace('&', '').rstrip('…')} is not possible: '{rows[0].name}' is on a read-only "
                    f"connection (remove it and add it again without 'Read-only' to manage it)")
        rows = writable
    if any(r.state in op.states for r in rows):
        return ""
    names = ", ".join(f"'{r.name}' is {state_name(r.state)}" for r in rows[:3])
    if len(rows) > 3:
        names += f" (and {len(rows) - 3} more)"
    return f"{op.label.replace('&', '').rstrip('…')} is not possible: {names}; {op.allowed_text}"


class DomainActions(QObject):
    """Builds the QActions and keeps their enabled state and tooltips in step with the selection."""

    triggered = Signal(str)  # op key

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.actions: dict[str, QAction] = {}
        for op in OPS.values():
            act = QAction(op.label, parent)
            act.setObjectName(f"action_{op.key}")
            if op.shortcut:
                act.setShortcut(QKeySequence(op.shortcut))
            if op.icon_state is not None:
                act.setIcon(state_icon(op.icon_state))
            elif op.icon_name:
                act.setIcon(icon(op.icon_name))
            act.setToolTip(op.tip)
            act.setStatusTip(op.tip)
            act.setEnabled(False)
            act.triggered.connect(lambda _checked=False, k=op.key: self.triggered.emit(k))
            self.actions[op.key] = act
        self.has_vnc: Optional[bool] = None
        self.update([])

    def update(self, rows: list[DomainRow], read_only: frozenset = frozenset()) -> None:
        """Enable each action for the selected rows; disabled ones get a tooltip saying why."""
        for key, act in self.actions.items():
            op = OPS[key]
            if key in SCREEN_OPS and len(rows) == 1 and self.has_vnc is False:
                act.setEnabled(False)
                act.setToolTip(CONSOLE_NO_VNC)
                act.setStatusTip(CONSOLE_NO_VNC)
                continue
            reason = disabled_reason(op, rows, read_only)
            enabled = not reason
            if act.isEnabled() != enabled:
                act.setEnabled(enabled)
            tip = op.tip if enabled else reason
            if act.toolTip() != tip:
                act.setToolTip(tip)
                act.setStatusTip(tip)

    def targets(self, key: str, rows: list[DomainRow]) -> list[DomainRow]:
        """The selected rows the action applies to (others are skipped)."""
        op = OPS[key]
        return [r for r in rows if r.state in op.states]


def disk_files(xml: str) -> list[str]:
    """Paths of the file/block disks (not CD-ROMs or floppies) a domain definition lists."""
    from ...backend.xml.domain import DomainFields
    from ...backend.xml.safe import parse_xml

    d = DomainFields(parse_xml(xml))
    return [disk.source for disk in d.disks
            if disk.device == "disk" and disk.type in ("file", "block") and disk.source]


def remove_files(paths: list[str]) -> list[str]:
    """Delete ``paths``; returns the errors (one line each) for the ones that could not be removed."""
    errors = []
    for p in paths:
        try:
            os.remove(p)
        except FileNotFoundError:
            continue
        except OSError as exc:
            errors.append(f"{p}: {exc.strerror or exc}")
    return errors
