"""Install-tree detection over a local HTTP server, compared with libosinfo's ``osinfo-detect -t tree``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.treeserver import TreeServer, make_debian_tree, make_treeinfo_tree

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.osinfo import OsInfoDb, default_db
from guiapp.backend.osinfo.tree import detect_tree

pytestmark = pytest.mark.skipif(not os.path.isdir("/usr/share/osinfo/os"), reason="osinfo-db not installed")

#: (directory, family, version, arch, variant) as real trees' .treeinfo [general] sections carry them.
TREEINFO_TREES = [
    ("fedora37", "Fedora", "37", "x86_64", "Server"),
    ("stream9", "CentOS Stream", "9", "x86_64", "BaseOS"),
    ("leap154", "openSUSE Leap", "15.4", "x86_64", ""),
]


@pytest.fixture(scope="module")
def db() -> OsInfoDb:
    return default_db()


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeServer]:
    root = tmp_path_factory.mktemp("trees")
    for d, family, version, arch, variant in TREEINFO_TREES:
        make_treeinfo_tree(root / d, family, version, arch, variant)
    make_treeinfo_tree(root / "plainname", "Fedora", "36", "x86_64", "Server", name="treeinfo")
    make_treeinfo_tree(root / "unknownos", "Nosuch Linux", "1", "x86_64", "", images=None)
    make_debian_tree(root / "debian", "bullseye")
    make_debian_tree(root / "debnew", "trixie", version="13.1")
    make_debian_tree(root / "ubuntu", "bionic", origin="Ubuntu", version="18.04")
    (root / "empty").mkdir()
    with TreeServer(root) as srv:
        yield srv


ORACLE_PATHS = [t[0] + "/" for t in TREEINFO_TREES] + ["debian/dists/bullseye/main/installer-amd64/"]


@pytest.fixture(scope="module")
def oracle(trees: TreeServer) -> dict[str, list[str]]:
    """libosinfo's answers (``osinfo-detect -a -t tree``) for every tree, run side by side once per module."""
    exe = shutil.which("osinfo-detect")
    if exe is None:
        pytest.skip("osinfo-detect is not installed (Debian package libosinfo-bin)")
    procs = {p: subprocess.Popen([exe, "-a", "-t", "tree", trees.url + p], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True) for p in ORACLE_PATHS}
    return {p: re.findall(r"Tree is an installer for OS '(.*)'", proc.communicate(timeout=120)[0])
            for p, proc in procs.items()}


@pytest.mark.parametrize("tree", TREEINFO_TREES, ids=[t[0] for t in TREEINFO_TREES])
def test_treeinfo_detection_agrees_with_libosinfo(db: OsInfoDb, trees: TreeServer, oracle: dict[str, list[str]],
                                                  tree: tuple[str, str, str, str, str]) -> None:
    url = trees.url + tree[0] + "/"
    found = detect_tree(db, url)
    theirs = oracle[tree[0] + "/"]
    assert theirs, f"osinfo-detect identifies nothing at {url}"
    assert found.os is not None
    assert f"{found.name} ({found.arch})" == theirs[0]
    assert (found.kind, found.kernel, found.initrd) == ("treeinfo", "images/pxeboot/vmlinuz",
                                                       "images/pxeboot/initrd.img")
    assert found.cmdline == f"inst.repo={url}" or tree[1].startswith("openSUSE")


def test_treeinfo_without_dot_and_over_file_url(db: OsInfoDb, trees: TreeServer,
                                                oracle: dict[str, list[str]]) -> None:
    found = detect_tree(db, trees.url + "plainname")  # no trailing slash: normalised
    assert found.url.endswith("/plainname/") and found.os is not None and found.os.short_id == "fedora36"
    assert found.name == "Fedora Server 36"
    local = detect_tree(db, (trees.root / "fedora37").as_uri())
    assert local.os is not None and local.os.short_id == "fedora37" and local.cmdline == ""


def test_debian_trees_which_libosinfo_cannot_identify(db: OsInfoDb, trees: TreeServer,
                                                     oracle: dict[str, list[str]]) -> None:
    for url in (trees.url + "debian/dists/bullseye/", trees.url + "debian/dists/bullseye/main/installer-amd64/"):
        found = detect_tree(db, url)
        assert found.kind == "debian" and found.os is not None and found.os.short_id == "debian11"
        assert found.url == trees.url + "debian/dists/bullseye/main/installer-amd64/"
        assert found.kernel == "current/images/netboot/debian-installer/amd64/linux"
        assert found.cmdline == ""
    assert oracle["debian/dists/bullseye/main/installer-amd64/"] == []
    ubuntu = detect_tree(db, trees.url + "ubuntu/dists/bionic/")
    assert ubuntu.os is not None and ubuntu.os.short_id == "ubuntu18.04"


def test_layout_known_os_unknown_still_gives_boot_files(db: OsInfoDb, trees: TreeServer) -> None:
    found = detect_tree(db, trees.url + "debnew/dists/trixie/")
    assert found.os is None and found.name == "Debian trixie (13.1)"
    assert found.initrd == "current/images/netboot/debian-installer/amd64/initrd.gz"
    other = detect_tree(db, trees.url + "unknownos/")
    assert other.os is None and other.label.startswith("Nosuch Linux 1")
    assert other.kernel == "images/pxeboot/vmlinuz"  # anaconda's usual layout


@pytest.mark.parametrize(("path", "code", "words"), [
    ("empty/", C.VIR_ERR_INVALID_ARG, "not an install tree"),
    ("debian/dists/buster/", C.VIR_ERR_INVALID_ARG, "has no dists/buster/Release"),
    ("debian/dists/bullseye/main/installer-arm64/", C.VIR_ERR_INVALID_ARG, "no current/images/MANIFEST"),
])
def test_clear_errors(db: OsInfoDb, trees: TreeServer, path: str, code: int, words: str) -> None:
    with pytest.raises(DriverError) as err:
        detect_tree(db, trees.url + path)
    assert err.value.code == code and words in str(err.value)


def test_unreachable_host_is_a_clear_error(db: OsInfoDb, trees: TreeServer) -> None:
    port = trees.httpd.server_address[1]
    with TreeServer(Path("/nonexistent")) as gone:
        dead = gone.url
    with pytest.raises(DriverError) as err:
        detect_tree(db, dead + "fedora37/")
    assert err.value.code == C.VIR_ERR_OPERATION_FAILED and "cannot reach 127.0.0.1" in str(err.value)
    assert str(port) not in dead or dead != trees.url
