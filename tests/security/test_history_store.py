"""The config history store: UUIDs become directory names, so only canonical UUID text reaches the file system;
versions (secure XML) are 0600 in a 0700 folder; symlinks planted in the store are not followed for the lock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import guiapp.backend as libvirt
from guiapp.backend.history import DirStore

GOOD = "6695eb01-f6a4-8304-79aa-97f2502e193f"


@pytest.mark.parametrize("bad", ["../../etc", "/etc/passwd", GOOD.upper(), GOOD + "/..", "", GOOD[:-1] + "\n",
                                 "6695eb01f6a4830479aa97f2502e193f"])
def test_only_canonical_uuids_name_folders(tmp_path: Path, bad: str) -> None:
    store = DirStore(tmp_path / "history")
    with pytest.raises(ValueError):
        store.record({"uuid": bad, "xml": "<domain/>", "op": "define"})
    with pytest.raises(ValueError):
        store.versions(bad)
    with pytest.raises(ValueError):
        store.mark_deleted(bad, "x")
    assert not (tmp_path / "history").exists() or os.listdir(tmp_path / "history") == []


def test_api_refuses_hostile_uuid_text() -> None:
    conn = libvirt.open("test:///default")
    for bad in ("../../etc/passwd", "6695eb01-f6a4-8304-79aa-97f2502e193", 5):
        with pytest.raises(libvirt.libvirtError) as e:
            conn.guiappConfigVersionsByUUID(bad)  # type: ignore[arg-type]
        assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    for bad in ("", None, 7):
        with pytest.raises(libvirt.libvirtError) as e:
            conn.guiappRestoreDeleted(bad)  # type: ignore[arg-type]
        assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG


def test_planted_lock_symlink_is_not_followed(tmp_path: Path) -> None:
    store = DirStore(tmp_path / "history")
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "history" / GOOD).mkdir(parents=True)
    os.symlink(victim, tmp_path / "history" / GOOD / ".lock")
    with pytest.raises(OSError):
        store.record({"uuid": GOOD, "xml": "<domain/>", "op": "define"})
    assert victim.read_text() == "keep"


def test_versions_are_private(tmp_path: Path) -> None:
    store = DirStore(tmp_path / "history")
    assert store.record({"uuid": GOOD, "xml": "<domain><secret/></domain>", "op": "define"}) == 1
    folder = tmp_path / "history" / GOOD
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert {oct(p.stat().st_mode & 0o777) for p in folder.iterdir()} == {"0o600"}
