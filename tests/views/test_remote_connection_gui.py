"""The manager on a remote connection to a real libvirtd: rows, events, a dropped daemon, retry."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from guiapp.models.demo import write_node


def _load(stem: str):
    name = f"guiapp_tests_{stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "helpers" / f"{stem}.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]


own_libvirtd = _load("libvirtd").own_libvirtd


def test_dropped_daemon_shows_in_its_row_and_retry_reconnects(qtbot: Any, window: Any, own_libvirtd: Any,
                                                               node_uri: str, tmp_path: Path) -> None:
    remote = own_libvirtd.uri(write_node(tmp_path / "remote.xml", 5, running=1.0))
    window.manager.add(node_uri)
    window.manager.add(remote)
    qtbot.waitUntil(lambda: window.model.domain_count() == 17, timeout=20000)
    node = window.model.connection(remote)
    assert node.status == node.CONNECTED
    own_libvirtd.kill()
    qtbot.waitUntil(lambda: window.model.connection(remote).status == node.DISCONNECTED, timeout=20000)
    assert "connection" in window.model.connection(remote).error.lower()
    assert window.model.connection(node_uri).status == node.CONNECTED  # the other connection keeps working
    assert window.model.domain_count() == 12
    own_libvirtd.start()
    window.manager.retry(remote)
    qtbot.waitUntil(lambda: window.model.domain_count() == 17, timeout=20000)
    assert window.model.connection(remote).status == node.CONNECTED


def test_changes_made_elsewhere_arrive_as_events(qtbot: Any, window: Any, own_libvirtd: Any) -> None:
    sys.path.append("/usr/lib/python3/dist-packages")
    import libvirt  # Debian's python3-libvirt: another client of the same daemon

    uri = own_libvirtd.uri("test:///default")  # one shared default node inside the daemon
    other = libvirt.open(uri)
    window.manager.set_interval(600_000)  # no polling during the test: only events can update the row
    window.manager.add(uri)
    qtbot.waitUntil(lambda: window.model.domain_count() == 1, timeout=20000)
    node = window.model.connection(uri)
    row = node.rows[0]
    assert row.state == 1
    other.lookupByName("test").suspend()
    qtbot.waitUntil(lambda: window.model.connection(uri).rows[0].state == 3, timeout=10000)
    other.lookupByName("test").resume()
    qtbot.waitUntil(lambda: window.model.connection(uri).rows[0].state == 1, timeout=10000)
    other.close()
