"""What the first page offers depends on the connection's capabilities; Xen limits the network modes."""

from __future__ import annotations

from typing import Any

from wizard_helpers import TITLES, forward, open_wizard

from guiapp.backend.xml.builder import kind_options
from guiapp.backend.xml.capabilities import Capabilities, Guest, GuestDomain, Host, HostCPU
from guiapp.views.wizard.hostinfo import HostInfo

XEN_CAPS = Capabilities(Host(HostCPU("x86_64", ["vmx"])), [
    Guest("xen", "x86_64", domains=[GuestDomain("xen")]),
    Guest("hvm", "x86_64", loader="/usr/lib/xen/boot/hvmloader", domains=[GuestDomain("xen")]),
])


def test_real_qemu_connection_disables_xen_with_the_reason(qtbot: Any, qemu_conn: Any, runner: Any) -> None:
    wiz = open_wizard(qtbot, qemu_conn, runner, uri="qemu:///session")
    assert wiz.host is not None, wiz.host_error
    kp = wiz.kind_page
    for key in ("xen-pv", "xen-hvm"):
        assert not kp.buttons[key].isEnabled()
        assert kp.reasons[key].isVisibleTo(wiz)
        assert kp.reasons[key].text().startswith("Not available: this QEMU connection runs no Xen guests")
    assert kp.buttons["qemu"].isEnabled() and not kp.reasons["qemu"].isVisibleTo(wiz)
    assert kp.selected_kind() is not None and kp.selected_kind().domain_type in ("kvm", "qemu")
    kp.select("qemu")
    forward(wiz, TITLES[1])
    wiz.install_page.set_method("network")
    forward(wiz, TITLES[2])
    rp = wiz.resources_page
    arches = [rp.arch.itemText(i) for i in range(rp.arch.count())]
    assert "x86_64" in arches and rp.arch.currentText() == "x86_64"
    assert rp.machine.isEnabled() and rp.machine.currentText() == "pc"
    assert "The host has" in rp.memory_note.text()


def test_xen_host_offers_xen_kinds_and_xl_network_modes(qtbot: Any, test_conn: Any, runner: Any) -> None:
    wiz = open_wizard(qtbot, test_conn, runner)
    host = wiz.host
    assert host is not None
    xen = HostInfo(uri="xen:///", driver_type="Xen", caps=XEN_CAPS, kinds=kind_options(XEN_CAPS, "Xen"),
                   memory_mib=8192, cpus=4, max_vcpus={"xen": 128}, domain_names={"Domain-0"})
    wiz._host_loaded(wiz._gen, xen)
    kp = wiz.kind_page
    assert kp.buttons["xen-pv"].isEnabled() and kp.buttons["xen-hvm"].isEnabled()
    assert not kp.buttons["kvm"].isEnabled() and "no KVM guests" in kp.reasons["kvm"].text()
    assert not kp.buttons["qemu"].isEnabled() and "no QEMU guests" in kp.reasons["qemu"].text()
    kp.select("xen-hvm")
    forward(wiz, TITLES[1])
    assert wiz.install_page.loader.text() == "/usr/lib/xen/boot/hvmloader"
    wiz.install_page.set_method("network")
    forward(wiz, TITLES[2])
    assert not wiz.resources_page.machine.isEnabled()
    wiz.resources_page.vcpus.setValue(5)
    assert "more than the host's 4 CPUs" in wiz.problem_text()
    wiz.resources_page.vcpus.setValue(2)
    forward(wiz, TITLES[3])
    wiz.storage_page.set_mode("none")
    forward(wiz, TITLES[4])
    ed = wiz.network_page.nics[0]
    assert ed.current_mode() == "bridge" and ed.bridge.text() == "xenbr0"
    assert wiz.builder.defn.interfaces[0].mac.startswith("00:16:3e:")
    ed.set_mode("mcast")
    assert "Multicast tunnel is not available for this guest on this connection" in wiz.problem_text()
    ed.set_mode("ethernet")
    forward(wiz, TITLES[5])
    # the preview is the xl.cfg the Xen driver would write
    text = wiz.native_view.toPlainText()
    assert 'builder = "hvm"' in text and "vif = [" in text and "vcpus = 2" in text
    forward(wiz, TITLES[6])
    wiz.summary_page.name.setText("Domain-0")
    assert "already exists" in wiz.problem_text()
