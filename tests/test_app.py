"""The guiapp entry point: arguments, first-run URI, and a real start on test:///default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from guiapp.app import DEFAULT_URI, initial_uris, parse_args

ROOT = Path(__file__).resolve().parent.parent


def test_arguments() -> None:
    a = parse_args(["--connect", "test:///default", "-c", "qemu:///system", "--poll-interval", "2"])
    assert a.connect == ["test:///default", "qemu:///system"] and a.poll_interval == 2.0


def test_first_run_uses_the_default_uri(monkeypatch: object) -> None:
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI", raising=False)  # type: ignore[attr-defined]
    assert initial_uris([], []) == ([DEFAULT_URI], True)
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///x.xml")  # type: ignore[attr-defined]
    assert initial_uris([], []) == (["test:///x.xml"], True)
    assert initial_uris([], ["qemu:///system"]) == (["qemu:///system"], False)
    assert initial_uris(["test:///a", "test:///a"], ["qemu:///system"]) == (["test:///a"], False)


def test_main_starts_on_test_default_when_nothing_is_configured(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GUIAPP_EXIT_AFTER="1.5", GUIAPP_DEBUG_THREADS="1",
               PYTHONPATH=str(ROOT))
    env.pop("LIBVIRT_DEFAULT_URI", None)
    settings = tmp_path / "s.ini"
    out = subprocess.run([sys.executable, "-m", "guiapp", "--settings", str(settings)], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["domains"] == 1  # libvirt's default test node has one domain
    assert "test:///default" in settings.read_text()  # remembered for the next start
    assert "on the UI thread" not in out.stderr


def test_without_a_display_guiapp_says_so_and_exits_1() -> None:
    """Issue 16 item 9: not Qt's misleading xcb abort (exit 134) but a clear message and exit status 1."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    res = subprocess.run([sys.executable, "-m", "guiapp", "--connect", "test:///default"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1, (res.returncode, res.stderr[-2000:])
    assert "no graphical display (DISPLAY/WAYLAND_DISPLAY unset)" in res.stderr
    assert "guiapp-virsh" in res.stderr and "QT_QPA_PLATFORM" in res.stderr
    assert "xcb" not in res.stderr
