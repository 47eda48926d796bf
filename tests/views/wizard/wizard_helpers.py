"""Drive the New-VM wizard like a user: fill each page's widgets, press Forward, finish."""

from __future__ import annotations

from typing import Any, Optional

from guiapp.views.wizard import NewVMWizard

TITLES = ("Connection and guest kind", "Install source", "Architecture, memory and CPUs", "Storage", "Network",
          "Display and lifecycle", "Summary", "Edit the XML")


def open_wizard(qtbot: Any, conn: Any, runner: Any, uri: str = "test:///default", **kw: Any) -> NewVMWizard:
    errors: list[Any] = []

    def show_error(exc: BaseException, **_kw: Any) -> Any:
        errors.append(exc)
        from guiapp.views.errors import show_error as real
        return real(wiz, exc, **_kw)

    wiz = NewVMWizard({uri: conn}, runner, uri=uri, show_error=show_error, **kw)
    wiz.shown_errors = errors  # type: ignore[attr-defined]
    qtbot.addWidget(wiz)
    wiz.show()
    qtbot.waitUntil(lambda: wiz.host is not None or wiz.host_error is not None, timeout=5000)
    return wiz


def forward(wiz: NewVMWizard, title: str) -> None:
    """Press Forward (it must be enabled) and check where it lands."""
    assert wiz.forward_button.isEnabled(), f"Forward disabled on {wiz.current_page().title}: {wiz.problem_text()}"
    wiz.forward_button.click()
    assert wiz.current_page().title == title


def set_nic(ed: Any, mode: str, *, network: str = "default", bridge: str = "br0", target: str = "",
            script: str = "", address: str = "", port: Optional[int] = None, mac: str = "",
            model: Optional[str] = None) -> None:
    ed.set_mode(mode)
    if mode == "network":
        ed.network.setCurrentText(network)
    elif mode == "bridge":
        ed.bridge.setText(bridge)
    elif mode == "ethernet":
        ed.target_dev.setText(target)
        ed.script.setText(script)
    elif mode == "mcast":
        ed.mcast_addr.setText(address)
        ed.mcast_port.setValue(5558 if port is None else port)
    elif mode in ("server", "client"):
        ed.tcp_addr.setText(address)
        ed.tcp_port.setValue(5558 if port is None else port)
    if mac:
        ed.mac_auto.setChecked(False)
        ed.mac.setText(mac)
    if model is not None:
        ed.model.setCurrentIndex(ed.model.findData(model))


def wait_created(qtbot: Any, wiz: NewVMWizard, timeout: int = 10000) -> None:
    qtbot.waitUntil(lambda: wiz.result is not None or wiz.last_error is not None, timeout=timeout)
    assert wiz.last_error is None, f"creating failed: {wiz.last_error}"
