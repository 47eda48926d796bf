"""Preference values in QSettings: one reader per value (checked, with a default) and one writer.

The Preferences dialog writes them; the windows read them when they open and again when the dialog
emits its change signals (applied live). Readers never raise: a bad stored value gives the default.
"""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import QObject, Signal

from .connections import FULL_TICK_DOMAINS

SETTINGS_SWEEP = "preferences/sweep_domains"
SETTINGS_CONSOLE_SCALING = "console/scaling"
SETTINGS_GRAB_COMBO = "console/grab_combo"
SETTINGS_NEWVM_FORMAT = "newvm/format"
SETTINGS_NEWVM_MEMORY = "newvm/memory_mib"
SETTINGS_NEWVM_VCPUS = "newvm/vcpus"
SETTINGS_NEWVM_DISK = "newvm/disk_gib"

SCALINGS = {"fit": "Scale to the window (keep the aspect ratio)", "1:1": "One guest pixel per screen pixel"}
GRAB_COMBOS = {"ctrl+alt": "Ctrl+Alt", "ctrl+alt+shift": "Ctrl+Alt+Shift", "right-ctrl": "Right Ctrl"}
DISK_FORMATS = ("qcow2", "raw")

# key -> (default, lowest, highest) for the integer preferences
_INTS: dict[str, tuple[int, int, int]] = {
    SETTINGS_SWEEP: (FULL_TICK_DOMAINS, 10, 1_000_000),
    SETTINGS_NEWVM_MEMORY: (1024, 16, 16 * 1024 * 1024),
    SETTINGS_NEWVM_VCPUS: (1, 1, 4096),
    SETTINGS_NEWVM_DISK: (10, 1, 1024 * 1024),
}
_CHOICES: dict[str, tuple[str, tuple[str, ...]]] = {
    SETTINGS_CONSOLE_SCALING: ("fit", tuple(SCALINGS)),
    SETTINGS_GRAB_COMBO: ("ctrl+alt", tuple(GRAB_COMBOS)),
    SETTINGS_NEWVM_FORMAT: ("qcow2", DISK_FORMATS),
}


def int_pref(settings: Optional[Any], key: str) -> int:
    """An integer preference, or its default when unset, unreadable or out of range."""
    default, lo, hi = _INTS[key]
    if settings is None:
        return default
    try:
        value = int(float(settings.value(key, default)))
    except (TypeError, ValueError, OverflowError):
        return default
    return value if lo <= value <= hi else default


def int_range(key: str) -> tuple[int, int]:
    """The accepted range of an integer preference (for spin boxes)."""
    return _INTS[key][1], _INTS[key][2]


def choice_pref(settings: Optional[Any], key: str) -> str:
    """A choice preference, or its default when unset or not one of the choices."""
    default, allowed = _CHOICES[key]
    if settings is None:
        return default
    value = str(settings.value(key, default))
    return value if value in allowed else default


def set_pref(settings: Optional[Any], key: str, value: Any) -> None:
    """Store one preference (checked like its reader: a bad value raises ValueError, nothing is stored)."""
    if key in _INTS:
        lo, hi = _INTS[key][1], _INTS[key][2]
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise ValueError(f"{key} must be an integer from {lo} to {hi}, not {value!r}")
    elif key in _CHOICES:
        if value not in _CHOICES[key][1]:
            raise ValueError(f"{key} must be one of {', '.join(_CHOICES[key][1])}, not {value!r}")
    else:
        raise ValueError(f"unknown preference {key!r}")
    if settings is not None:
        settings.setValue(key, value)


def new_vm_defaults(settings: Optional[Any]) -> dict[str, Any]:
    """What the New VM wizard starts from: memory (MiB), vCPUs, disk size (GiB) and disk format."""
    return {"memory_mib": int_pref(settings, SETTINGS_NEWVM_MEMORY), "vcpus": int_pref(settings, SETTINGS_NEWVM_VCPUS),
            "disk_gib": int_pref(settings, SETTINGS_NEWVM_DISK), "format": choice_pref(settings, SETTINGS_NEWVM_FORMAT)}


class PreferenceSignals(QObject):
    """The process-wide change signals, emitted by the Preferences dialog after it saved (see :func:`notifier`)."""

    console_changed = Signal()  # console scaling / grab combo
    new_vm_changed = Signal()  # new-VM defaults (memory, vCPUs, disk size, storage format)


_notifier: Optional[PreferenceSignals] = None


def notifier() -> PreferenceSignals:
    """The one :class:`PreferenceSignals` of the process: windows connect to it to follow Preferences live."""
    global _notifier
    if _notifier is None:
        _notifier = PreferenceSignals()
    return _notifier


def console_scaling(settings: Optional[Any]) -> str:
    """The console's scaling preference: ``fit`` or ``1:1``."""
    return choice_pref(settings, SETTINGS_CONSOLE_SCALING)


def grab_combo(settings: Optional[Any]) -> str:
    """The keys that release the console's grab: a key of :data:`GRAB_COMBOS`."""
    return choice_pref(settings, SETTINGS_GRAB_COMBO)


def storage_format(settings: Optional[Any]) -> str:
    """The default format of new disk images and volumes (``qcow2`` or ``raw``)."""
    return choice_pref(settings, SETTINGS_NEWVM_FORMAT)
