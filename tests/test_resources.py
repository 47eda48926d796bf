"""The top-level resources/: what the app loads and what the wheel ships (setup.py maps it to guiapp.resources)."""

from __future__ import annotations

import ast
import configparser
import fnmatch
from pathlib import Path

from guiapp.backend.xml.safe import parse_xml

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"


def _package_data() -> dict[str, list[str]]:
    """setup.py's package_data, read without running setup()."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup")
    kw = next(k for k in call.keywords if k.arg == "package_data")
    return ast.literal_eval(kw.value)


def test_every_resource_file_is_shipped_in_the_wheel():
    data = _package_data()
    for path in RESOURCES.rglob("*"):
        if path.is_dir():
            continue
        rel = path.relative_to(RESOURCES)
        package = ".".join(["guiapp.resources", *rel.parent.parts])
        assert any(fnmatch.fnmatch(rel.name, pat) for pat in data.get(package, [])), f"{rel} is not package data"


def test_the_app_finds_its_icons(qapp):
    from guiapp.views import icons

    assert icons.ICONS == RESOURCES / "icons"
    assert not icons.app_icon().isNull()
    for name in set(icons._STATE_FILES.values()):
        assert (icons.ICONS / f"{name}.svg").is_file(), name
        assert not icons.state_icon(next(k for k, v in icons._STATE_FILES.items() if v == name)).isNull()


def test_desktop_entry_and_appstream_metadata_agree():
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(RESOURCES / "guiapp.desktop")
    desk = entry["Desktop Entry"]
    assert desk["Type"] == "Application" and desk["Exec"].split()[0] == "guiapp"
    assert (RESOURCES / "icons" / f"{desk['Icon']}.svg").is_file()
    meta = parse_xml((RESOURCES / "guiapp.metainfo.xml").read_bytes(), "guiapp.metainfo.xml")
    assert meta.tag == "component" and meta.get("type") == "desktop-application"
    assert meta.findtext("launchable") == "guiapp.desktop"
    assert meta.findtext("name") == desk["Name"]
    assert {b.text for b in meta.iterfind("provides/binary")} == {"guiapp", "guiapp-virsh"}
