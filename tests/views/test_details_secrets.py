"""Issue 11 item 4 in the GUI: the details window asks for a domain's secrets only on read-write connections.

On a read-write connection the tabs edit the definition with its VNC password, so applying a change keeps it
(before, the password was silently dropped by every apply); on a read-only one the XML tab never shows it and
no VIR_DOMAIN_XML_SECURE request is made (libvirt would refuse it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gui_helpers import off_ui
from lxml import etree

import guiapp.backend as libvirt
from guiapp.backend.domain import virDomain
from guiapp.models.demo import write_node

SECRET = "pw4vnc"


@pytest.fixture
def secret_node(tmp_path: Path) -> str:
    """The 12-domain node file, vm-010's VNC display protected by a password."""
    uri = write_node(tmp_path / "node.xml", 12, running=0.5, paused=2)
    path = uri[len("test://"):]
    tree = etree.parse(path)
    dom = next(d for d in tree.getroot().iter("domain") if d.findtext("name") == "vm-010")
    g = dom.find("devices/graphics")
    if g is None:
        g = etree.SubElement(dom.find("devices"), "graphics", type="vnc", port="-1", autoport="yes")
    g.set("passwd", SECRET)
    tree.write(path)
    return uri


@pytest.fixture
def xmldesc_flags(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, int]]:
    """(read-only?, flags) of every XMLDesc call (the real method still runs)."""
    seen: list[tuple[bool, int]] = []
    real = virDomain.XMLDesc

    def spy(self: virDomain, flags: int = 0) -> str:
        seen.append((bool(self._conn.isReadOnly()), flags))
        return real(self, flags)
    monkeypatch.setattr(virDomain, "XMLDesc", spy)
    return seen


def _open(qtbot: Any, win: Any, uri: str, name: str) -> Any:
    qtbot.waitUntil(lambda: win.model.domain_count() == 12, timeout=10000)
    row = next(r for r in win.model.connection(uri).rows if r.name == name)
    details = win.open_details(uri, row.uuid)
    qtbot.waitUntil(lambda: details.loaded, timeout=10000)
    return details


def test_read_only_details_never_request_or_show_secrets(qtbot: Any, window: Any, secret_node: str,
                                                          xmldesc_flags: list) -> None:
    window.manager.add(secret_node, read_only=True)
    d = _open(qtbot, window, secret_node, "vm-010")
    assert SECRET not in d.xml_tab.original and SECRET not in d.xml_tab.editor.toPlainText()
    ro_flags = [f for ro, f in xmldesc_flags if ro]
    assert ro_flags and not any(f & libvirt.VIR_DOMAIN_XML_SECURE for f in ro_flags)


def test_read_write_apply_keeps_the_vnc_password(qtbot: Any, window: Any, secret_node: str) -> None:
    window.manager.add(secret_node)
    d = _open(qtbot, window, secret_node, "vm-010")
    assert f"passwd=\"{SECRET}\"" in d.xml_tab.original or f"passwd='{SECRET}'" in d.xml_tab.original
    d.kernel.setText("/boot/vmlinuz-test")
    d.boot_apply.click()
    qtbot.waitUntil(lambda: d.boot_note.text() != "", timeout=10000)
    assert d.boot_note.text().startswith("Saved"), d.boot_note.text()
    conn = window.manager.conn(secret_node)
    xml = off_ui(lambda: conn.lookupByName("vm-010").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE
                                                             | libvirt.VIR_DOMAIN_XML_SECURE))
    root = etree.fromstring(xml.encode())
    assert root.findtext("os/kernel") == "/boot/vmlinuz-test"
    assert root.find("devices/graphics").get("passwd") == SECRET
