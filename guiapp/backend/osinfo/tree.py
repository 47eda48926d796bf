"""Identify a network install tree and where its installer kernel and initrd are, as libosinfo and virt-install do.

Two kinds of tree are known:

* **treeinfo** trees (Fedora, RHEL and its rebuilds, openSUSE, SLES): the tree's
  ``.treeinfo`` (or ``treeinfo``) names family, version, arch and variant, matched
  against osinfo-db's ``<tree><treeinfo>`` regexes the way ``osinfo-detect -t tree``
  does; the boot files come from its ``[images-ARCH]`` section.
* **Debian-style** trees (Debian, Ubuntu), which libosinfo cannot identify (they have
  no ``.treeinfo``): the URL names ``dists/SUITE/`` (optionally ``main/installer-ARCH/``);
  ``dists/SUITE/Release`` gives origin and codename, matched against the ``dists/CODENAME/``
  of osinfo-db's ``<tree><url>``; boot files come from that ``<tree>``'s ``<kernel>``/
  ``<initrd>``, else from the installer's standard netboot layout.

A tree whose layout is known but whose OS is not in osinfo-db (e.g. a Debian
release newer than the database) is still usable: :attr:`InstallTree.os` is
``None`` and the user picks the OS by name.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from typing import Optional

from .. import constants as C
from ..errors import DriverError
from .db import OsEntry, OsInfoDb, Tree
from .fetch import TreeFetcher, TreeFileMissingError, check_tree_path
from .iso import regex_matches

#: osinfo arch -> Debian's architecture name.
DEBIAN_ARCH = {"x86_64": "amd64", "i686": "i386", "aarch64": "arm64", "ppc64le": "ppc64el", "s390x": "s390x",
               "armv7l": "armhf"}
#: Families whose installer is anaconda (takes ``inst.repo=``) or YaST/linuxrc (``install=``).
ANACONDA = ("fedora", "red hat", "centos", "rocky", "alma", "scientific", "circle", "miracle", "oracle")
SUSE = ("suse",)


@dataclass(frozen=True)
class InstallTree:
    """What :func:`detect_tree` found: the tree, its OS (when osinfo-db knows it) and its boot files."""

    url: str  # normalised, ends in '/'
    kind: str  # treeinfo | debian
    arch: str  # osinfo arch
    label: str  # what the tree says it is (e.g. "Fedora 37 Server x86_64", "Debian bullseye")
    os: Optional[OsEntry]
    name: str  # the OS name as osinfo-detect prints it (its variant's name when it has one), else the label
    kernel: str  # path relative to url (validated)
    initrd: str
    cmdline: str  # what the installer needs on its command line to find the tree ('' for Debian)

    @property
    def kernel_url(self) -> str:
        return TreeFetcher(self.url).url_of(self.kernel)

    @property
    def initrd_url(self) -> str:
        return TreeFetcher(self.url).url_of(self.initrd)


def _not_a_tree(url: str, detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_INVALID_ARG, f"{url} is not an install tree: {detail}. Give the URL of the "
                                              f"directory holding .treeinfo (Fedora, CentOS, openSUSE) or of "
                                              f"dists/SUITE/ on a Debian or Ubuntu mirror", C.VIR_FROM_NONE)


# ----------------------------------------------------------------------------- .treeinfo

def parse_treeinfo(data: bytes, url: str) -> configparser.RawConfigParser:
    """The ``.treeinfo`` INI file (no interpolation, no includes); ``DriverError`` when it is not one."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(data.decode("utf-8"), source=url)
    except (UnicodeDecodeError, configparser.Error) as exc:
        raise _not_a_tree(url, f"its .treeinfo cannot be read ({type(exc).__name__})") from None
    return parser


def treeinfo_fields(ini: configparser.RawConfigParser) -> dict[str, str]:
    """family, version, arch, variant: ``[general]`` first (libosinfo reads it), productmd's sections after."""
    def get(section: str, key: str) -> str:
        return ini.get(section, key, fallback="").strip()

    out = {k: get("general", k) for k in ("family", "version", "arch", "variant")}
    out["family"] = out["family"] or get("release", "name")
    out["version"] = out["version"] or get("release", "version")
    out["arch"] = out["arch"] or get("tree", "arch")
    if not out["variant"]:
        variants = get("tree", "variants")
        out["variant"] = variants.split(",")[0].strip() if variants else ""
    return out


def match_treeinfo(db: OsInfoDb, fields: dict[str, str]) -> Optional[tuple[OsEntry, Tree]]:
    """The OS whose ``<tree><treeinfo>`` regexes all match ``fields``; most fields matched, then newest, wins."""
    best: Optional[tuple[tuple[int, str], OsEntry, Tree]] = None
    for entry in db.oses().values():
        for tree in entry.trees:
            if not tree.treeinfo:
                continue
            if all(regex_matches(rx, fields.get(key, "")) for key, rx in tree.treeinfo.items()):
                score = (len(tree.treeinfo), entry.release_date)
                if best is None or score > best[0]:
                    best = (score, entry, tree)
    return (best[1], best[2]) if best else None


def _treeinfo_tree(db: OsInfoDb, fetcher: TreeFetcher, data: bytes, arch: str) -> InstallTree:
    ini = parse_treeinfo(data, fetcher.url)
    fields = treeinfo_fields(ini)
    if not fields["family"]:
        raise _not_a_tree(fetcher.url, "its .treeinfo names no family ([general] family or [release] name)")
    tree_arch = fields["arch"] or arch
    section = f"images-{tree_arch}"
    kernel = ini.get(section, "kernel", fallback="").strip() or ini.get("images-xen", "kernel", fallback="").strip()
    initrd = ini.get(section, "initrd", fallback="").strip() or ini.get("images-xen", "initrd", fallback="").strip()
    if not kernel:
        kernel, initrd = "images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"
    found = match_treeinfo(db, fields)
    label = " ".join(v for v in (fields["family"], fields["version"], fields["variant"], tree_arch) if v)
    entry = found[0] if found else None
    name = label
    if found:
        name = found[0].variants.get(found[1].variant) or found[0].name
    family = fields["family"].lower()
    remote = not fetcher.url.startswith("file:")  # a guest cannot read the host's file:// tree
    cmdline = "" if not remote else (f"inst.repo={fetcher.url}" if any(f in family for f in ANACONDA)
               else f"install={fetcher.url}" if any(f in family for f in SUSE) else "")
    return InstallTree(url=fetcher.url, kind="treeinfo", arch=tree_arch, label=label, os=entry, name=name,
                       kernel=check_tree_path(kernel, "kernel"), initrd=check_tree_path(initrd, "initrd"),
                       cmdline=cmdline)


# ----------------------------------------------------------------------------- Debian / Ubuntu

_DISTS = re.compile(r"^(?P<mirror>.*/)dists/(?P<suite>[A-Za-z0-9._-]+)/"
                    r"(?:(?P<component>[A-Za-z0-9._-]+)/installer-(?P<debarch>[A-Za-z0-9]+)/)?$")


def parse_release(data: bytes) -> dict[str, str]:
    """The single-line fields of a Debian ``Release`` file (Origin, Suite, Codename, Version...)."""
    out: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if line[:1] in (" ", "\t") or ":" not in line:
            continue
        key, _sep, value = line.partition(":")
        out.setdefault(key.strip().lower(), value.strip())
    return out


def _debian_tree(db: OsInfoDb, fetcher: TreeFetcher, arch: str) -> Optional[InstallTree]:
    m = _DISTS.match(fetcher.url)
    if m is None:
        return None
    debarch = m.group("debarch") or DEBIAN_ARCH.get(arch)
    if debarch is None:
        raise _not_a_tree(fetcher.url, f"there is no Debian installer for the {arch} architecture")
    arch = next((k for k, v in DEBIAN_ARCH.items() if v == debarch), arch)
    mirror = TreeFetcher(m.group("mirror"), timeout=fetcher.timeout)
    suite = m.group("suite")
    try:
        release = parse_release(mirror.read(f"dists/{suite}/Release"))
    except TreeFileMissingError:
        raise _not_a_tree(fetcher.url, f"it has no dists/{suite}/Release") from None
    origin = release.get("origin", "")
    codename = release.get("codename", "") or suite
    if origin.lower() not in ("debian", "ubuntu"):
        raise _not_a_tree(fetcher.url, f"dists/{suite}/Release is from {origin or 'an unknown origin'!r}, "
                                       f"not Debian or Ubuntu")
    installer_dir = f"dists/{suite}/{m.group('component') or 'main'}/installer-{debarch}"
    installer = mirror.at(installer_dir)
    if not installer.exists("current/images/MANIFEST"):
        raise _not_a_tree(fetcher.url, f"{installer.url} has no current/images/MANIFEST (no installer for "
                                       f"{debarch} in {suite})")
    entry: Optional[OsEntry] = None
    tree: Optional[Tree] = None
    distro = origin.lower()
    for cand in db.oses().values():
        if cand.distro != distro:
            continue
        for t in cand.trees:
            if t.arch == arch and any(f"/dists/{name}/" in t.url + "/" for name in (codename, suite)):
                if entry is None or cand.release_date > entry.release_date:
                    entry, tree = cand, t
    if tree is not None and tree.kernel and tree.initrd:
        kernel, initrd = tree.kernel, tree.initrd
    else:
        kernel = f"current/images/netboot/{distro}-installer/{debarch}/linux"
        initrd = f"current/images/netboot/{distro}-installer/{debarch}/initrd.gz"
    label = f"{origin} {codename}" + (f" ({release['version']})" if release.get("version") else "")
    return InstallTree(url=installer.url, kind="debian", arch=arch, label=label, os=entry,
                       name=entry.name if entry is not None else label, kernel=check_tree_path(kernel, "kernel"),
                       initrd=check_tree_path(initrd, "initrd"), cmdline="")


# ----------------------------------------------------------------------------- entry point

def detect_tree(db: OsInfoDb, url: str, arch: str = "x86_64", *, timeout: Optional[float] = None) -> InstallTree:
    """Identify the install tree at ``url`` for a guest of ``arch``; ``DriverError`` saying why it cannot."""
    fetcher = TreeFetcher(url) if timeout is None else TreeFetcher(url, timeout=timeout)
    found = _debian_tree(db, fetcher, arch)
    if found is not None:
        return found
    for name in (".treeinfo", "treeinfo"):
        try:
            data = fetcher.read(name, 1024 * 1024)
        except TreeFileMissingError:
            continue
        return _treeinfo_tree(db, fetcher, data, arch)
    raise _not_a_tree(fetcher.url, "it has neither .treeinfo nor treeinfo, and is not a Debian or Ubuntu "
                                   "dists/SUITE/ directory")


__all__ = ["InstallTree", "detect_tree", "match_treeinfo", "parse_release", "parse_treeinfo", "treeinfo_fields"]
