"""The osinfo-db reader: the OS list compared with libosinfo's ``osinfo-query``, search, defaults, hostile files."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.osinfo import OsInfoDb, default_db, os_defaults
from guiapp.backend.osinfo.defaults import GiB, MiB

pytestmark = pytest.mark.skipif(not os.path.isdir("/usr/share/osinfo/os"), reason="osinfo-db not installed")


@pytest.fixture(scope="module")
def db() -> OsInfoDb:
    return default_db()


def osinfo_query() -> dict[str, tuple[str, str]]:
    """libosinfo's OS list: id -> (first short id, name)."""
    exe = shutil.which("osinfo-query")
    if exe is None:
        pytest.skip("osinfo-query is not installed (Debian package libosinfo-bin)")
    out = subprocess.run([exe, "os", "--fields=short-id,name,id"], capture_output=True, text=True, timeout=60,
                         check=True, env={**os.environ, "LC_ALL": "C"}).stdout
    rows: dict[str, tuple[str, str]] = {}
    for line in out.splitlines()[2:]:
        cols = [c.strip() for c in line.split("|")]
        if len(cols) == 3:
            rows[cols[2]] = (cols[0], cols[1])
    return rows


def test_os_list_matches_libosinfo(db: OsInfoDb) -> None:
    theirs = osinfo_query()
    ours = {e.id: (e.short_id, e.name) for e in db.oses().values()}
    assert len(theirs) > 500
    assert ours == theirs


def test_search_by_words(db: OsInfoDb) -> None:
    hits = db.search("debian 11")
    assert hits and hits[0].short_id == "debian11"
    assert all("debian" in h.name.lower() or any("debian" in s for s in h.short_ids) for h in hits)
    assert db.search("WINDOWS 10")[0].name.startswith("Microsoft Windows")
    assert db.search("no such system at all") == []
    assert len(db.search("linux", limit=7)) == 7
    assert db.get("debianbullseye") is db.get("debian11")  # any short id works


def test_unknown_os_is_a_clear_error(db: OsInfoDb) -> None:
    with pytest.raises(DriverError) as e:
        db.get("plan10")
    assert e.value.code == C.VIR_ERR_INVALID_ARG and "plan10" in e.value.detail


def _xml_value(path: str, xpath: str) -> int:
    root = etree.parse(path).getroot()
    return int(root.xpath(xpath)[0].text)


def test_defaults_follow_the_xml(db: OsInfoDb) -> None:
    """Debian 11's own recommended resources; its virtio devices come from Debian 10 (derives-from)."""
    f = "/usr/share/osinfo/os/debian.org/debian-11.xml"
    d = os_defaults(db, "debian11")
    assert d.memory_mib * MiB == _xml_value(f, "/libosinfo/os/resources/recommended/ram")
    assert d.disk_gib * GiB == _xml_value(f, "/libosinfo/os/resources/recommended/storage")
    assert (d.disk_bus, d.nic_model, d.firmware) == ("virtio", "virtio", "bios")
    w = os_defaults(db, "win11")
    assert w.firmware == "efi" and w.efi_supported  # bios supported="false" for win11 x86_64
    assert w.disk_bus != "virtio" and w.nic_model != "virtio"  # Windows has no inbox virtio drivers


def write_os(root: Path, name: str, body: str) -> None:
    d = root / "os" / "example.org"
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(f'<?xml version="1.0"?>\n<libosinfo version="0.0.1">{body}</libosinfo>\n')


def test_inheritance_unsupported_and_extensions(tmp_path: Path) -> None:
    write_os(tmp_path, "a.xml", '<os id="http://example.org/a/1"><short-id>a1</short-id><name>A 1</name>'
             '<devices><device id="http://pcisig.com/pci/1af4/1001"/><device id="http://pcisig.com/pci/1af4/1000"/>'
             '</devices><resources arch="all"><recommended><ram>536870912</ram></recommended></resources></os>')
    write_os(tmp_path, "b.xml", '<os id="http://example.org/a/2"><short-id>a2</short-id><name>A 2</name>'
             '<derives-from id="http://example.org/a/1"/>'
             '<devices><device id="http://pcisig.com/pci/1af4/1001" supported="false"/></devices></os>')
    (tmp_path / "os" / "example.org" / "b.d").mkdir()
    (tmp_path / "os" / "example.org" / "b.d" / "x.xml").write_text(
        '<libosinfo><os id="http://example.org/a/2"><short-id>a2alias</short-id>'
        '<firmware arch="x86_64" type="efi"/></os></libosinfo>')
    db = OsInfoDb(str(tmp_path))
    d = os_defaults(db, "a2alias")
    assert (d.memory_mib, d.disk_bus, d.nic_model, d.efi_supported) == (512, "ide", "virtio", True)
    assert os_defaults(db, "a1").disk_bus == "virtio"


def test_hostile_database_file_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("TOPSECRET")
    write_os(tmp_path, "evil.xml", "")
    (tmp_path / "os" / "example.org" / "evil.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY s SYSTEM "file://{secret}">]>'
        '<libosinfo><os id="http://e/1"><name>&s;</name></os></libosinfo>')
    with pytest.raises(DriverError) as e:
        OsInfoDb(str(tmp_path)).oses()
    assert "TOPSECRET" not in str(e.value.detail)


def test_oversized_database_file_is_refused(tmp_path: Path) -> None:
    from guiapp.backend.osinfo.db import MAX_FILE_SIZE
    write_os(tmp_path, "big.xml", "<!--" + "x" * MAX_FILE_SIZE + "-->")
    with pytest.raises(DriverError) as e:
        OsInfoDb(str(tmp_path)).oses()
    assert e.value.code == C.VIR_ERR_XML_ERROR and "big.xml" in e.value.detail


def test_hostile_regex_in_database_never_matches(tmp_path: Path) -> None:
    from guiapp.backend.osinfo.iso import IsoIdent, match_ident
    write_os(tmp_path, "r.xml", '<os id="http://e/r"><name>R</name><media arch="x86_64"><iso>'
             '<volume-id>((unclosed</volume-id></iso></media></os>')
    ident = IsoIdent("", "((unclosed", "", "", 0)
    assert match_ident(OsInfoDb(str(tmp_path)), ident) is None


def test_missing_database_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(DriverError) as e:
        OsInfoDb(str(tmp_path / "none")).oses()
    assert e.value.code == C.VIR_ERR_NO_SUPPORT and "osinfo-db" in e.value.detail


def test_loading_is_lazy_and_once(tmp_path: Path) -> None:
    write_os(tmp_path, "a.xml", '<os id="http://example.org/a/1"><short-id>a1</short-id><name>A 1</name></os>')
    db = OsInfoDb(str(tmp_path))
    assert not db.loaded
    first = db.oses()
    assert db.loaded and db.oses() is first
