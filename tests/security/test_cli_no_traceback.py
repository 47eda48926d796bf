"""``guiapp-virsh`` never prints a Python traceback (issue 11, item 9).

Every command is run with bad arguments (missing, wrong type, hostile strings, control characters,
huge numbers, odd files) on ``test:///default``; each run must end with exit status 0 or 1 and, on
failure, only ``error: ...`` lines on stderr, like virsh.  A few runs go through a real subprocess to
see what a user sees.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import guiapp.backend as libvirt
from guiapp.backend import cli

REPO = str(Path(__file__).resolve().parents[2])

HOSTILE_WORDS = ["", "nosuch", "-1", "0", "99999999999999999999999999", "1e309", "nan", "0x10", "١٢", "\x1b[31mred",
                 "a\nb", "a" * 5000, "../../etc/shadow", "/dev/zero", "/proc/self/mem", "--", "-", "test",
                 "6695eb01-f6a4-8304-79aa-97f2502e193f", "12345678-1234-1234-1234-1234567890123"]


#: The subset tried on every option (all of HOSTILE_WORDS and the files go to the positional arguments).
OPTION_WORDS = ["", "-1", "99999999999999999999999999", "1e309", "\x1b[31mred", "a" * 5000, "../x"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    d = tmp_path_factory.mktemp("cli-files")
    (d / "binary.xml").write_bytes(b"\xff\xfe\x00\x01<domain>")
    (d / "empty.xml").write_bytes(b"")
    (d / "huge.xml").write_bytes(b"<domain>" + b" " * (11 * 1024 * 1024) + b"</domain>")
    (d / "entity.xml").write_text("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/shadow'>]><domain>&x;</domain>")
    (d / "network.xml").write_text("<network><name>n\x01</name></network>")
    (d / "unreadable.xml").write_text("<domain/>")
    os.chmod(d / "unreadable.xml", 0)
    return [str(d), str(d / "binary.xml"), str(d / "empty.xml"), str(d / "huge.xml"), str(d / "entity.xml"),
            str(d / "network.xml"), str(d / "unreadable.xml"), str(d / "missing.xml")]


def variants(cmd: cli.Command, files: list[str]) -> list[list[str]]:
    words = HOSTILE_WORDS + files
    if cmd.name == "save":  # it writes its file argument: only paths inside the test's directory
        words = [w for w in HOSTILE_WORDS if not w.startswith("/")] + [files[0]]
    out: list[list[str]] = [[cmd.name], [cmd.name, "--bogus"], [cmd.name, "a", "b", "c", "d"]]
    positional = [o for o in cmd.opts if o.positional]
    for w in words:
        if positional:
            out.append([cmd.name] + [w] * len(positional))
            out.append([cmd.name, "test"] + [w] * (len(positional) - 1))
        for o in cmd.opts if w in OPTION_WORDS else ():
            if o.kind == "bool":
                out.append([cmd.name, f"--{o.name}={w}"] + ["test"] * len(positional))
            else:
                out.append([cmd.name, f"--{o.name}", w] + (["test"] if positional and positional[0] is not o
                                                             else []))
    for o in cmd.opts:  # every flag at once, and twice
        if o.kind == "bool":
            out.append([cmd.name, "test", f"--{o.name}", f"--{o.name}"])
    return out


def run_inproc(argv: list[str], conn: Any = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    libvirt.registerErrorHandler(lambda c, e: None, None)
    try:
        rc = cli.run(["-c", "test:///default"] + argv, libvirt, out, err, conn=conn)
    finally:
        libvirt.registerErrorHandler(None, None)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_every_command_with_bad_arguments_fails_cleanly(files: list[str], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    deep = tmp_path / "a" / "b" / "c" / "d"  # relative words such as ../../etc/shadow stay in here
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    # ``edit`` runs $VISUAL: a failing editor takes the same path vi takes without a terminal (exit status 1,
    # "editor failed") without vi's 2 s "Input is not from a terminal" pause on each of its ~30 runs
    monkeypatch.setenv("VISUAL", "false")
    bad: list[str] = []
    count = 0
    for name, cmd in sorted(cli.command_table().items()):
        if name != cmd.name:
            continue  # aliases
        conn = libvirt.open("test:///default")  # one fresh node per command (opening each time is slow)
        for argv in variants(cmd, files):
            count += 1
            try:
                rc, _out, err = run_inproc(argv, conn if cmd.needs_conn else None)
            except BaseException as exc:
                bad.append(f"{argv!r:.120}: {type(exc).__name__}: {exc!s:.200}")
                continue
            if rc not in (0, 1):
                bad.append(f"{argv!r:.120}: exit status {rc}")
            if rc == 1 and not err.strip():
                bad.append(f"{argv!r:.120}: failed without a message")
            for line in err.splitlines():
                if line and not line.startswith("error: ") and not line.startswith("usage:"):
                    if "Traceback" in line or line.startswith("  File "):
                        bad.append(f"{argv!r:.120}: traceback on stderr")
                        break
        conn.close()
    assert count > 1000
    assert bad == [], "\n".join(bad[:30])


def test_global_options_with_bad_values_fail_cleanly() -> None:
    for argv in (["-c"], ["-c", ""], ["-c", "test:///%00", "list"], ["-c", "nosuch:///x", "list"],
                 ["-c", "test:///default%0a", "list"], ["--connect=\x01", "list"], ["-x", "list"], ["-r"],
                 ["-c", "qemu:///%00", "list"], ["-c", "test:///dev/zero", "list"], ["-c", "xen:///?timeout=1e999",
                                                                                    "list"]):
        out, err = io.StringIO(), io.StringIO()
        libvirt.registerErrorHandler(lambda c, e: None, None)
        try:
            rc = cli.run(argv, libvirt, out, err)
        finally:
            libvirt.registerErrorHandler(None, None)
        assert rc == 1, argv
        assert err.getvalue().startswith("error: "), (argv, err.getvalue())


@pytest.mark.parametrize("argv", [
    ["-c", "test:///%00", "list"],
    ["-c", "test:///default", "dominfo", "a" * 10000],
    ["-c", "test:///default", "setmem", "test", "99999999999999999999999999999"],
    ["-c", "test:///default", "setvcpus", "test", "-5"],
    ["-c", "test:///default", "define", "/dev/null"],
    ["-c", "test:///default", "net-define", "/proc/self/status"],
    ["-c", "test:///default", "net-dhcp-leases", "nosuch\x01"],
    ["-c", "test:///default", "save", "test", "/nonexistent/dir/file"],
])
def test_subprocess_prints_error_lines_and_exit_1(argv: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": REPO}
    r = subprocess.run([sys.executable, "-m", "guiapp.backend.cli", *argv], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1, r
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("error: "), r.stderr


def test_unexpected_exception_becomes_an_error_line(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A bug (any non-libvirt exception) inside a command still ends as ``error: ...`` and status 1."""
    def boom(*_a: Any) -> bool:
        raise RuntimeError("simulated bug")
    def patched(commands: tuple[cli.Command, ...]) -> tuple[cli.Command, ...]:
        return tuple(c._replace(run=boom) if c.name == "uri" else c for c in commands)
    cmds = patched(cli.all_commands())
    monkeypatch.setattr(cli, "all_commands", lambda: cmds)
    monkeypatch.setattr(cli, "COMMANDS", patched(cli.COMMANDS))  # 'uri' is found without the other modules
    rc = cli.main(["-c", "test:///default", "uri"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "Traceback" not in captured.err and captured.err.startswith("error: ")
    assert "simulated bug" in captured.err
