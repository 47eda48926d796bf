"""Issue 15 item 7: the wizard offers exactly virtual network, bridge and ethernet for Xen kinds (the others
greyed out with the reason), a Xen vif on a network shows that network's bridge in the xl.cfg preview, and
Create stays disabled with the reason whenever the preview cannot be produced (pytest-qt, offscreen)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from wizard_helpers import TITLES, forward, open_wizard, set_nic

from guiapp.views.wizard.page_network import MODES, XEN_MODES, XEN_REASON


def _to_network_page(wiz: Any, files: dict[str, str], kind: str) -> None:
    wiz.kind_page.select(kind)
    forward(wiz, TITLES[1])
    ip = wiz.install_page
    if kind == "xen-pv":
        ip.kernel.setText(files["kernel"])
        ip.initrd.setText(files["initrd"])
    else:
        ip.set_method("cdrom")
        ip.iso.setText(files["iso"])
    forward(wiz, TITLES[2])
    forward(wiz, TITLES[3])
    sp = wiz.storage_page
    sp.set_mode("new")
    sp.new_path.setText(os.path.join(files["dir"], f"{kind}.img"))
    forward(wiz, TITLES[4])


def _to_summary(wiz: Any) -> None:
    forward(wiz, TITLES[5])
    forward(wiz, TITLES[6])
    wiz.summary_page.name.setText("xnet-guest")


@pytest.mark.parametrize("kind", ["xen-pv", "xen-hvm"])
def test_xen_kinds_offer_exactly_network_bridge_ethernet(qtbot: Any, test_conn: Any, runner: Any,
                                                         files: dict[str, str], kind: str) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    _to_network_page(wiz, files, kind)
    ed = wiz.network_page.nics[0]
    model = ed.mode.model()
    enabled = {ed.mode.itemData(i) for i in range(ed.mode.count()) if model.item(i).isEnabled()}
    assert enabled == set(XEN_MODES) == {"network", "bridge", "ethernet"}
    for key, _label in MODES:
        item = model.item(ed.mode.findData(key))
        assert item.toolTip() == ("" if key in XEN_MODES else XEN_REASON)
    assert "user networking, multicast and TCP tunnels are QEMU's own" in XEN_REASON


def test_xen_vif_on_a_network_previews_its_bridge_and_creates(qtbot: Any, test_conn: Any, runner: Any,
                                                            files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    assert wiz.host.bridges == {"default": "virbr0"}  # read through the connection's network API
    _to_network_page(wiz, files, "xen-pv")
    set_nic(wiz.network_page.nics[0], "network", network="default")
    _to_summary(wiz)
    qtbot.waitUntil(lambda: "vif = " in wiz.native_view.toPlainText(), timeout=5000)
    assert "bridge=virbr0" in wiz.native_view.toPlainText()
    assert wiz.finish_button.isEnabled(), wiz.problem_text()


def test_create_is_disabled_with_the_reason_when_the_preview_fails(qtbot: Any, test_conn: Any, runner: Any,
                                                                   files: dict[str, str]) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    _to_network_page(wiz, files, "xen-pv")
    set_nic(wiz.network_page.nics[0], "network", network="nosuchnet")
    _to_summary(wiz)
    qtbot.waitUntil(lambda: not wiz.finish_button.isEnabled(), timeout=5000)
    text = wiz.problem_text()
    assert text.startswith("Create is disabled: the xl.cfg cannot be produced") and "nosuchnet" in text
    assert "cannot run as it is" in wiz.native_view.toPlainText()
    # fixing it on the network page enables Create again
    wiz.back_button.click()
    wiz.back_button.click()
    assert wiz.current_page().title == TITLES[4]
    set_nic(wiz.network_page.nics[0], "network", network="default")
    forward(wiz, TITLES[5])
    forward(wiz, TITLES[6])
    qtbot.waitUntil(lambda: wiz.finish_button.isEnabled(), timeout=5000)
    assert wiz.problem_text() == ""
