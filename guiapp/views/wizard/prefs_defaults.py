"""Where the wizard's starting memory, vCPUs, disk size and disk format come from, and the hints that say so.

The user's Preferences › New VMs (``models.preferences.new_vm_defaults``) fill the fields when the wizard
opens; when the user applies an OS's recommended settings, osinfo-db's values win where osinfo-db states one
(the OS or an ancestor), and the Preferences stay for the rest (osinfo-db never states a disk format).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from guiapp.backend.osinfo import OsDefaults
from guiapp.backend.osinfo.defaults import stated_resources

from ...models.preferences import new_vm_defaults

if TYPE_CHECKING:
    from .wizard import NewVMWizard

PREFS = "Preferences › New VMs"


def apply_preferences(wizard: NewVMWizard, settings: Optional[Any]) -> None:
    """Start the resources and storage pages at the user's new-VM defaults."""
    d = new_vm_defaults(settings)
    res, st = wizard.resources_page, wizard.storage_page
    res.memory.setValue(d["memory_mib"])
    res.vcpus.setValue(d["vcpus"])
    st.new_size.setValue(float(d["disk_gib"]))
    st.new_format.setCurrentText(d["format"])
    res.defaults_note.setText(f"Memory and vCPUs start at your defaults ({PREFS}).")
    st.defaults_note.setText(f"Size and format start at your defaults ({PREFS}).")
    wizard.install_page.os_box.applied.connect(lambda od: os_applied(wizard, settings, od))


def os_applied(wizard: NewVMWizard, settings: Optional[Any], od: OsDefaults) -> None:
    """After "Use recommended settings": keep osinfo-db's values it states, put the Preferences back elsewhere."""
    box = wizard.install_page.os_box
    name = box.db.get(od.os_id).name
    stated = stated_resources(box.db, od.os_id, wizard.builder.arch or "x86_64")
    d = new_vm_defaults(settings)
    res, st = wizard.resources_page, wizard.storage_page
    if "memory" not in stated:
        res.memory.setValue(d["memory_mib"])
    if "vcpus" not in stated:
        res.vcpus.setValue(d["vcpus"])
    if "disk" not in stated:
        st.new_size.setValue(float(d["disk_gib"]))
    res.defaults_note.setText(_hint(name, [("Memory", "memory" in stated), ("vCPUs", "vcpus" in stated)]))
    st.defaults_note.setText(_hint(name, [("Size", "disk" in stated), ("format", False)]))


def _hint(os_name: str, fields: list[tuple[str, bool]]) -> str:
    """'X and Y: recommended for OS (osinfo-db); Z: your defaults (Preferences › New VMs).'"""
    from_os = [f for f, s in fields if s]
    mine = [f for f, s in fields if not s]
    parts = []
    if from_os:
        parts.append(f"{' and '.join(from_os)}: recommended for {os_name} (osinfo-db)")
    if mine:
        what = " and ".join(mine)
        why = f"osinfo-db has no recommendation for {os_name}" if mine != ["format"] else "osinfo-db has none"
        parts.append(f"{what}: your defaults ({PREFS}; {why})")
    return "; ".join(parts) + "."
