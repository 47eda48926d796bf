"""The virt-manager-like Add Connection dialog: hypervisor + ssh host build the URI, hostile input refused."""

from __future__ import annotations

from typing import Any

from guiapp.views.main_window.add_connection import AddConnectionDialog, build_uri


def test_fields_build_the_uri(qtbot: Any) -> None:
    d = AddConnectionDialog(None)
    qtbot.addWidget(d)
    assert d.uri.currentText() == "qemu:///system" and not d.host.isEnabled()
    d.hypervisor.setCurrentIndex(1)
    assert d.uri.currentText() == "qemu:///session"
    d.hypervisor.setCurrentIndex(0)
    d.ssh.setChecked(True)
    assert d.host.isEnabled() and "host" in d.message.text()
    d.host.setText("kvm1.example.org")
    assert d.uri.currentText() == "qemu+ssh://root@kvm1.example.org/system" and d.message.text() == ""
    d.user.setText("")
    assert d.uri.currentText() == "qemu+ssh://kvm1.example.org/system"
    d.hypervisor.setCurrentIndex(3)
    assert d.uri.currentText() == "test+ssh://kvm1.example.org/default"
    d.set_uri("test+ssh://kvm1.example.org/default?keyfile=/k")  # the URI stays editable
    got: list[tuple[str, bool]] = []
    d.add_requested.connect(lambda uri, ro: got.append((uri, ro)))
    d.buttons.accepted.emit()
    assert got == [("test+ssh://kvm1.example.org/default?keyfile=/k", False)] and d.autoconnect.isChecked()


def test_hostile_host_and_user_are_refused(qtbot: Any) -> None:
    d = AddConnectionDialog(None)
    qtbot.addWidget(d)
    d.ssh.setChecked(True)
    got: list[str] = []
    d.add_requested.connect(lambda uri, ro: got.append(uri))
    for host, user in (("-oProxyCommand=touch /tmp/x", "root"), ("h; reboot", "root"), ("good", "-oX=y")):
        d.host.setText(host)
        d.user.setText(user)
        d.buttons.accepted.emit()
        assert got == [] and "not" in d.message.text(), (host, user)


def test_build_uri() -> None:
    assert build_uri("xen:///", True, "", "h") == "xen+ssh://h/"
    assert build_uri("qemu:///session", False, "u", "h") == "qemu:///session"
