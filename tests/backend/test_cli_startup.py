"""What ``guiapp-virsh`` imports to run a command: only what the command needs (start-up time, see bench/cli.py).

The time itself is measured by ``bench/cli.py`` (never asserted here); these tests pin the imports a fast
start depends on, so a new eager import shows up as a failing test rather than a slower benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from guiapp.backend.xml.serialize import escape_text, quote_attr

ROOT = Path(__file__).resolve().parents[2]

#: Modules a plain ``list --all`` on the test driver must not load: other drivers and the wire protocol,
#: the storage and network tables it does not touch, the other command modules, Qt, heavy stdlib packages,
#: and any XML: the default node lists from its domains' facts, so neither lxml nor the XML models load.
NOT_FOR_LIST = (
    "lxml", "guiapp.backend.xml.safe", "guiapp.backend.xml.domain", "guiapp.backend.xml.domain_devices",
    "guiapp.backend.xml.domain_normalize", "guiapp.backend.xml.network", "guiapp.backend.xml.props",
    "guiapp.backend.xml.devices_edit", "guiapp.backend.xml.metadata", "guiapp.backend.xml.schema",
    "guiapp.backend.xml.capabilities", "inspect", "dataclasses",
    "guiapp.backend.rpc", "guiapp.backend.drivers.remote.driver", "guiapp.backend.drivers.qemu",
    "guiapp.backend.drivers.xen", "guiapp.backend.hoststorage.table", "guiapp.backend.hoststorage.dirpool",
    "guiapp.backend.hostnet.table", "guiapp.backend.xml.storage", "guiapp.backend.xml.snapshot",
    "guiapp.backend.console", "guiapp.backend.cli_net", "guiapp.backend.cli_storage", "guiapp.backend.cli_snapshot",
    "guiapp.backend.cli_screen", "guiapp.backend.cli_console", "guiapp.vnc", "PySide6", "urllib.request",
    "http.client", "email.parser", "xml.sax", "logging", "subprocess", "argparse", "guiapp.backend.cli_argparse",
    "guiapp.backend.cli_hardware", "guiapp.backend.cli_devices", "shiboken6", "guiapp.views", "guiapp.models",
)

PROBE = """
import contextlib, io, json, sys
from guiapp.backend import cli
with contextlib.redirect_stdout(io.StringIO()) as out:
    rc = cli.main(sys.argv[1:])
json.dump({"rc": rc, "out": out.getvalue(), "modules": sorted(sys.modules)}, sys.stderr)
"""


def _run(*argv: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("LIBVIRT_DEFAULT_URI", None)
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], env=env, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    return json.loads(proc.stderr[proc.stderr.index("{"):])


def test_list_on_the_test_driver_loads_only_what_it_needs() -> None:
    got = _run("-c", "test:///default", "list", "--all")
    assert got["rc"] == 0 and " test " in got["out"]
    loaded = [m for m in got["modules"] if any(m == p or m.startswith(p + ".") for p in NOT_FOR_LIST)]
    assert loaded == []


def test_list_loads_no_gui_and_no_driver_but_the_uris() -> None:
    """Qt and the GUI stay out, and of the drivers only the URI's own is imported (the others are found by
    scheme, on demand: :data:`guiapp.backend.drivers._MODULES`)."""
    from guiapp.backend import drivers

    got = _run("-c", "test:///default", "list", "--all")
    assert got["rc"] == 0
    assert not [m for m in got["modules"] if m.split(".")[0] in ("PySide6", "shiboken6")
                or m.startswith(("guiapp.views", "guiapp.models", "guiapp.vnc"))]
    packages = set(drivers._MODULES.values()) | {"guiapp.backend.drivers.remote.driver"}
    loaded = {p for p in packages if p in got["modules"]}
    assert loaded == {"guiapp.backend.drivers.test"}


def test_import_guiapp_backend_loads_no_xml() -> None:
    """``import guiapp.backend`` (what every script and command starts with) loads neither lxml nor an XML
    model: they come with the first document parsed or formatted."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = "import json, sys, guiapp.backend; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=True)
    loaded = json.loads(proc.stdout)
    assert [m for m in loaded if m == "lxml" or m.startswith(("lxml.", "guiapp.backend.xml."))] == []


def test_the_first_xml_use_still_loads_what_it_needs() -> None:
    """dumpxml after the lazy open: the default domain is parsed then, and shows libvirt's definition."""
    got = _run("-c", "test:///default", "dumpxml", "test")
    assert got["rc"] == 0 and "<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>" in got["out"]
    assert "aa:bb:cc:dd:ee:ff" in got["out"] and "guiapp.backend.xml.domain" in got["modules"]


def test_a_bad_line_still_gets_virshs_message() -> None:
    """A line the quick reader leaves alone goes to argparse (imported then) and its virsh-style error."""
    got = _run("-c", "test:///default", "list", "--bogus")
    assert got["rc"] == 1 and "guiapp.backend.cli_argparse" in got["modules"]


def test_network_and_storage_commands_still_load_their_parts() -> None:
    got = _run("-c", "test:///default", "net-list", "--all")
    assert got["rc"] == 0 and "default" in got["out"]
    assert "guiapp.backend.cli_net" in got["modules"] and "guiapp.backend.hostnet.table" in got["modules"]
    assert "argparse" not in got["modules"]  # the quick reader took the line
    got = _run("-c", "test:///default", "pool-list", "--all")
    assert got["rc"] == 0 and "default" in got["out"]
    assert "guiapp.backend.hoststorage.table" in got["modules"]


@pytest.mark.parametrize("argv", [("help",), ("-c", "test:///default", "help", "net-list")])
def test_help_still_knows_every_command(argv: tuple[str, ...]) -> None:
    got = _run(*argv)
    assert got["rc"] == 0
    assert "net-list" in got["out"] and ("pool-list" in got["out"] or argv[-1] == "net-list")


@given(st.text(alphabet=st.sampled_from("ab&<>\"'\n\r\t é"), max_size=30))
def test_xml_escapes_read_back_unchanged(text: str) -> None:
    """What the command modules write into XML by hand (text and single-quoted attributes) parses back as given."""
    el = etree.fromstring(f"<a b={quote_attr(text)}>{escape_text(text)}</a>")
    assert el.get("b") == text and (el.text or "") == text.replace("\r\n", "\n").replace("\r", "\n")
