"""Network install: hostile tree URLs, hostile tree metadata and hostile servers are refused with clear errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.treeserver import TreeServer, endless, make_treeinfo_tree, redirect_to, stall, write

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.osinfo import OsInfoDb
from guiapp.backend.osinfo.fetch import TreeFetcher, check_tree_path, check_tree_url
from guiapp.backend.osinfo.netinstall import fetch_boot_files, plan_boot_files
from guiapp.backend.osinfo.tree import detect_tree

HOSTILE_URLS = [
    ("", "no install tree URL"),
    ("ftp://mirror/debian/", "'ftp:' given"),
    ("javascript:alert(1)", "'javascript:' given"),
    ("mirror.example/debian", "no scheme"),
    ("http://user:s3cret@mirror/debian/", "user name or password"),
    ("http://mirror/debian/ --append=x", "spaces or control"),
    ("http://mirror/debian/\n-kernel /etc/shadow", "spaces or control"),
    ("http://mirror/a/../../etc/", "'..' path segments"),
    ("http://mirror/a/%2e%2e/etc/", "'..' path segments"),
    ("http://mirror/debian/?x=1", "query"),
    ("http://mirror/debian/#frag", "fragment"),
    ("file://otherhost/srv/tree/", "on this machine"),
    ("http:///path/", "names no host"),
    ("http://mirror:99999/", "not valid"),
    ("http://mirror/" + "a" * 3000, "longer than"),
]

HOSTILE_PATHS = ["../../../etc/passwd", "/etc/passwd", "images/../../x", "http://evil/x", "%2e%2e/x", "a\\b",
                 "a\nb", "a b", "images//vmlinuz", "./vmlinuz", "", "a;rm -rf ~", "$(id)", "x" * 600]


@pytest.mark.parametrize(("url", "words"), HOSTILE_URLS)
def test_hostile_tree_urls_are_refused(url: str, words: str) -> None:
    with pytest.raises(DriverError) as err:
        check_tree_url(url)
    assert err.value.code == C.VIR_ERR_INVALID_ARG and words in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("rel", HOSTILE_PATHS)
def test_hostile_paths_from_tree_metadata_are_refused(rel: str) -> None:
    with pytest.raises(DriverError) as err:
        check_tree_path(rel, "kernel")
    assert err.value.code == C.VIR_ERR_INVALID_ARG
    with pytest.raises(DriverError):
        TreeFetcher("http://127.0.0.1:9/tree/").url_of(rel)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeServer]:
    root = tmp_path_factory.mktemp("hostile")
    make_treeinfo_tree(root / "ok", "Fedora", "37", "x86_64", "Server")
    make_treeinfo_tree(root / "evil", "Fedora", "37", "x86_64", "Server", images=("../../../etc/passwd", "x"))
    write(root, "secret.txt", b"outside the tree")
    routes = {
        "/redir-file/.treeinfo": redirect_to("file:///etc/passwd"),
        "/loop/.treeinfo": redirect_to("/loop/.treeinfo"),
        "/big/.treeinfo": endless(claimed=10**12),
        "/endless/.treeinfo": endless(),
        "/slow/.treeinfo": stall(3),
    }
    with TreeServer(root, routes) as srv:
        yield srv


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> OsInfoDb:
    d = tmp_path_factory.mktemp("osinfo")
    (d / "os").mkdir()
    return OsInfoDb(str(d))


def test_treeinfo_pointing_outside_the_tree_is_refused(server: TreeServer, empty_db: OsInfoDb) -> None:
    with pytest.raises(DriverError) as err:
        detect_tree(empty_db, server.url + "evil/")
    assert err.value.code == C.VIR_ERR_INVALID_ARG and "unsafe kernel" in str(err.value)
    assert not any("passwd" in r or "secret" in r for r in server.requests)


@pytest.mark.parametrize(("path", "code", "words"), [
    ("redir-file/", C.VIR_ERR_OPERATION_FAILED, "is not allowed"),
    ("loop/", C.VIR_ERR_OPERATION_FAILED, "HTTP 302"),
    ("big/", C.VIR_ERR_OPERATION_FAILED, "more than the 1048576 allowed"),
    ("endless/", C.VIR_ERR_OPERATION_FAILED, "more than the 1048576 bytes allowed"),
])
def test_hostile_servers_are_cut_off(server: TreeServer, empty_db: OsInfoDb, path: str, code: int,
                                     words: str) -> None:
    with pytest.raises(DriverError) as err:
        detect_tree(empty_db, server.url + path)
    assert err.value.code == code and words in str(err.value)


def test_a_server_that_stops_answering_times_out(server: TreeServer, empty_db: OsInfoDb) -> None:
    with pytest.raises(DriverError) as err:
        detect_tree(empty_db, server.url + "slow/", timeout=0.3)
    assert err.value.code == C.VIR_ERR_OPERATION_TIMEOUT and "did not answer within 0.3 s" in str(err.value)


def test_boot_files_limits_and_test_connections_write_nothing(server: TreeServer, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    files = plan_boot_files("test:///default", server.url + "ok/", "images/pxeboot/vmlinuz",
                            "images/pxeboot/initrd.img")
    assert not files.write and fetch_boot_files(files) == []
    assert not os.path.exists(os.path.dirname(files.kernel_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    real = plan_boot_files("qemu:///session", server.url + "ok/", "images/pxeboot/vmlinuz",
                           "images/pxeboot/initrd.img")
    with pytest.raises(DriverError) as err:
        fetch_boot_files(real, limit=3)  # "kernel" is 6 bytes
    assert "more than the 3 allowed" in str(err.value)
    assert list((tmp_path / "guiapp" / "images" / "boot").iterdir()) == []  # the partial file is gone
    missing = plan_boot_files("qemu:///session", server.url + "ok/", "images/pxeboot/vmlinuz", "images/nothing.img")
    with pytest.raises(DriverError) as err:
        fetch_boot_files(missing)  # the kernel arrives, the initrd is a 404: both are removed again
    assert err.value.code == C.VIR_ERR_OPERATION_FAILED and "nothing.img does not exist (HTTP 404)" in str(err.value)
    assert list((tmp_path / "guiapp" / "images" / "boot").iterdir()) == []
    assert fetch_boot_files(real) == [real.kernel_path, real.initrd_path]
    assert Path(real.kernel_path).read_bytes() == b"kernel"
    with pytest.raises(DriverError) as err:
        plan_boot_files("qemu+ssh://root@host/system", server.url + "ok/", "a", "b")
    assert err.value.code == C.VIR_ERR_NO_SUPPORT
