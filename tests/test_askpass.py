"""ssh prompts reach guiapp: the askpass helper, its server, the dialog, and a real ssh asking for a passphrase."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from guiapp.askpass import AskpassServer


def run_helper(server: AskpassServer, prompt: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", **server.environment()}
    return subprocess.run([server.helper, prompt], capture_output=True, text=True, env=env, timeout=30)


def test_helper_returns_the_answer_and_fails_on_cancel() -> None:
    asked: list[str] = []

    def answer(prompt: str):
        asked.append(prompt)
        return None if "cancel" in prompt else "s3cret 'with' quotes"

    server = AskpassServer(answer)
    try:
        out = run_helper(server, "Enter passphrase for key '/k': ")
        assert out.returncode == 0 and out.stdout == "s3cret 'with' quotes\n"
        out = run_helper(server, "please cancel")
        assert out.returncode == 1 and out.stdout == ""
        assert asked == ["Enter passphrase for key '/k': ", "please cancel"]
        assert (Path(server.path).stat().st_mode & 0o777) == 0o600
        assert (server.dir.stat().st_mode & 0o777) == 0o700
    finally:
        server.close()
    assert not server.dir.exists()
    out = subprocess.run([sys.executable, "-m", "guiapp.askpass", "x"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert out.returncode == 1 and "GUIAPP_ASKPASS_SOCKET" in out.stderr


def test_dialog_answers_a_prompt(qtbot: Any) -> None:
    from guiapp.views.askpass_dialog import AskpassBridge

    bridge = AskpassBridge(None)
    opened: list[Any] = []
    bridge.dialog_opened.connect(opened.append)
    result: list[subprocess.CompletedProcess] = []
    t = threading.Thread(target=lambda: result.append(run_helper(bridge.server, "root@host's password: ")))
    t.start()
    qtbot.waitUntil(lambda: bool(opened), timeout=10000)
    dialog = opened[0]
    assert dialog.labelText() == "root@host's password: "
    dialog.setTextValue("hunter2")
    dialog.accept()
    qtbot.waitUntil(lambda: bool(result), timeout=10000)
    t.join()
    assert result[0].stdout == "hunter2\n"
    bridge.close()


def _load(stem: str):
    name = f"guiapp_tests_{stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "helpers" / f"{stem}.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]


_lv, _ssh = _load("libvirtd"), _load("sshd")
libvirtd, sshd = _lv.libvirtd, _ssh.sshd


def test_real_ssh_asks_guiapp_for_the_key_passphrase(libvirtd, sshd, monkeypatch) -> None:
    import guiapp.backend as lib

    prompts: list[str] = []

    def answer(prompt: str):
        prompts.append(prompt)
        return _ssh.PASSPHRASE

    server = AskpassServer(answer)
    for key, value in server.environment().items():
        monkeypatch.setenv(key, value)
    try:
        uri = sshd.ssh_uri(libvirtd.uri("test:///default", transport=""), key=sshd.passphrase_key, no_tty=False)
        c = lib.open(uri)
        assert [d.name() for d in c.listAllDomains()] == ["test"]
        c.close()
        assert len(prompts) == 1 and "passphrase" in prompts[0].lower()
    finally:
        server.close()


def test_wrong_passphrase_is_a_clear_error(libvirtd, sshd, monkeypatch) -> None:
    import guiapp.backend as lib

    server = AskpassServer(lambda prompt: None)  # the user cancels every prompt
    for key, value in server.environment().items():
        monkeypatch.setenv(key, value)
    try:
        uri = sshd.ssh_uri(libvirtd.uri("test:///default", transport=""), key=sshd.passphrase_key, no_tty=False)
        with pytest.raises(lib.libvirtError) as e:
            lib.open(uri)
        assert "Permission denied" in str(e.value)
    finally:
        server.close()
