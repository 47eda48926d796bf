"""app.SshPrompts: the askpass server starts just before the first connection over ssh opens, never for local ones."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gui_helpers import drain

from guiapp.app import SshPrompts
from guiapp.askpass import SOCKET_ENV


def test_askpass_starts_for_the_first_ssh_connection_only(qtbot: Any, window: Any, monkeypatch: Any) -> None:
    for var in ("SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", SOCKET_ENV, "DISPLAY"):  # restored after the test
        if var in os.environ:
            monkeypatch.setenv(var, os.environ[var])
        else:
            monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("SSH_ASKPASS", raising=False)  # start without one (the loop restores the outer value)
    prompts = SshPrompts(window)
    window.manager.add("test:///default", remember=False)
    qtbot.waitUntil(lambda: window.manager.conn("test:///default") is not None, timeout=5000)
    for uri in ("qemu+tcp://127.0.0.1:1/system", "qemu+ssh://127.0.0.1:notaport/system", "nonsense"):
        prompts.prepare(uri)  # not ssh, or malformed (its open reports that)
    assert prompts.bridge is None and "SSH_ASKPASS" not in os.environ  # nothing started, nothing written
    # nothing listens on port 1: ssh is refused at once; the server must exist before it runs
    window.manager.add("qemu+ssh://nobody@127.0.0.1:1/system", remember=False)
    bridge = prompts.bridge
    assert bridge is not None
    helper = Path(bridge.server.helper)
    assert os.environ["SSH_ASKPASS"] == str(helper) and helper.is_file()
    assert os.environ[SOCKET_ENV] == bridge.server.path
    window.manager.add("qemu+ssh://other@127.0.0.1:1/session", remember=False)
    assert prompts.bridge is bridge  # one server for the session
    drain(window.runner)
    prompts.close()
    assert not helper.parent.exists()
