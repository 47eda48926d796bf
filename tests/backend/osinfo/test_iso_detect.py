"""ISO detection against Debian's osinfo-db, compared with libosinfo's own ``osinfo-detect`` on the same images."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.isomaker import make_iso

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.osinfo import OsInfoDb, default_db, detect_iso, read_iso_ident
from guiapp.backend.osinfo.iso import PVD_OFFSET

pytestmark = pytest.mark.skipif(not os.path.isdir("/usr/share/osinfo/os"), reason="osinfo-db not installed")

# Volume ids (and publishers) as the real distributions' ISOs carry them.
REAL_MEDIA = [
    ("Debian 11.5.0 amd64 n", None, {"install.amd/vmlinuz": b"k", "install.amd/initrd.gz": b"i"}),
    ("Ubuntu 22.04.1 LTS amd64", None, {"casper/vmlinuz": b"k"}),
    ("CCSA_X64FRE_EN-US_DV5", "MICROSOFT CORPORATION", {"sources/install.wim": b"w"}),
    ("Fedora-WS-Live-36-1-5", None, {}),
    ("alpine-virt 3.17.0 x86_64", None, {}),
]


@pytest.fixture(scope="module")
def db() -> OsInfoDb:
    return default_db()


def osinfo_detect(path: Path) -> list[str]:
    """libosinfo's answers for ``path``: ["Debian 11 (x86_64)", ...], in its order."""
    exe = shutil.which("osinfo-detect")
    if exe is None:
        pytest.skip("osinfo-detect is not installed (Debian package libosinfo-bin)")
    out = subprocess.run([exe, "-a", str(path)], capture_output=True, text=True, timeout=60, check=True).stdout
    return re.findall(r"Media is (?:an installer|live media) for OS '(.*)'", out)


@pytest.mark.parametrize(("volume_id", "publisher", "files"), REAL_MEDIA)
def test_detection_agrees_with_libosinfo(tmp_path: Path, db: OsInfoDb, volume_id: str, publisher: str | None,
                                         files: dict[str, bytes]) -> None:
    iso = make_iso(tmp_path / "media.iso", volume_id, publisher=publisher, files=files)
    ident = read_iso_ident(str(iso))
    assert ident.volume_id == volume_id
    assert ident.publisher_id == (publisher or "")
    assert ident.volume_size == iso.stat().st_size
    theirs = osinfo_detect(iso)
    ours = detect_iso(db, str(iso))
    if not theirs:
        assert ours is None
        return
    assert ours is not None, f"libosinfo knows {volume_id!r} as {theirs}, we found nothing"
    entry, media = ours
    assert f"{entry.media_name(media)} ({media.arch})" == theirs[0]


def test_kernel_paths_point_into_the_media(tmp_path: Path, db: OsInfoDb) -> None:
    files = {"install.amd/vmlinuz": b"kernel", "install.amd/initrd.gz": b"initrd"}
    iso = make_iso(tmp_path / "d.iso", "Debian 11.6.0 amd64 n", files=files)
    found = detect_iso(db, str(iso))
    assert found is not None
    _, media = found
    assert media.kernel in files and media.initrd in files
    assert (media.arch, media.variant) == ("x86_64", "universal-netinst")


def test_unknown_volume_id_is_none(tmp_path: Path, db: OsInfoDb) -> None:
    iso = make_iso(tmp_path / "n.iso", "MY HOLIDAY PHOTOS")
    assert detect_iso(db, str(iso)) is None
    assert osinfo_detect(iso) == []


def test_hostile_ids_are_data_not_patterns(tmp_path: Path, db: OsInfoDb) -> None:
    """Regex metacharacters, quotes and shell syntax in the PVD only ever fail to match."""
    iso = make_iso(tmp_path / "h.iso", "$(rm -rf ~);.*(((", publisher="'; DROP --\"", system_id="..\\..",
                   application="\\d+[")
    ident = read_iso_ident(str(iso))
    assert "DROP" in ident.publisher_id
    assert detect_iso(db, str(iso)) is None


@pytest.mark.parametrize("content", [b"", b"x" * 100, b"\0" * (PVD_OFFSET + 2048), b"\x01CD002" * 10000])
def test_not_an_iso_is_a_clear_error(tmp_path: Path, db: OsInfoDb, content: bytes) -> None:
    p = tmp_path / "fake.iso"
    p.write_bytes(content)
    with pytest.raises(DriverError) as e:
        detect_iso(db, str(p))
    assert e.value.code == C.VIR_ERR_INVALID_ARG
    assert "not an ISO 9660 image" in e.value.detail and str(p) in e.value.detail


def test_missing_and_directory_are_clear_errors(tmp_path: Path, db: OsInfoDb) -> None:
    with pytest.raises(DriverError) as e:
        read_iso_ident(str(tmp_path / "nope.iso"))
    assert e.value.code == C.VIR_ERR_OPEN_FAILED and "nope.iso" in e.value.detail
    with pytest.raises(DriverError) as e:
        read_iso_ident(str(tmp_path))
    assert e.value.code == C.VIR_ERR_INVALID_ARG and "not a regular file" in e.value.detail


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.iso"
    os.mkfifo(fifo)
    with pytest.raises(DriverError) as e:
        read_iso_ident(str(fifo))
    assert e.value.code == C.VIR_ERR_INVALID_ARG
