"""Issue 15 item 6: xl.cfg both ways against libvirt's own pairs (tests/data/libvirt/xl = libvirt's xlconfigdata).

* XML -> cfg (libvirt's "Parse" cases): our xl.cfg for libvirt's XML must *mean* the same as libvirt's cfg:
  Debian's real ``xl -N create`` (dry run, private oxenstored) turns both into libxl's JSON and the two must be
  equal, up to settings written as libxl's documented default on one side and left out on the other (DEFAULTS).
  vnuma cannot be dry-run on a host without NUMA nodes (xl checks pnode): there the vnuma lists are compared
  as settings and the rest through xl.
* cfg -> XML (libvirt's "Format" cases): our XML must keep everything of libvirt's expected XML except what
  libvirt fills in on its own (IMPLICIT: addresses, implicit controllers and inputs, default video, balloon).
* What guiapp cannot represent is refused with VIR_ERR_CONFIG_UNSUPPORTED (counted, never a silent drop).

The figures are printed (run with ``-s`` or see the captured output) and must reach the issue's goals.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.drivers.xen.capabilities import hvmloader_path
from guiapp.backend.drivers.xen.xlcfg import domain_to_xl, format_cfg, parse_cfg, xl_to_domain_xml
from guiapp.backend.errors import DriverError

REAL_XL = (sorted(glob.glob("/usr/lib/xen-*/bin/xl")) or [None])[-1]
DATA = Path(__file__).parents[3] / "data" / "libvirt" / "xl"

# libvirt 9.0's tests/xlconfigtest.c: DO_TEST = both ways, DO_TEST_PARSE = XML -> cfg, DO_TEST_FORMAT = cfg -> XML
BOTH = ["fullvirt-ovswitch-tagged", "fullvirt-ovswitch-trunked", "fullvirt-ovmf", "paravirt-maxvcpus", "new-disk",
        "net-fakemodel", "spice", "spice-features", "vif-rate", "fullvirt-nohap", "fullvirt-hpet-timer",
        "fullvirt-tsc-timer", "fullvirt-multi-timer", "fullvirt-nestedhvm", "fullvirt-nestedhvm-disabled",
        "fullvirt-cpuid", "fullvirt-acpi-slic", "fullvirt-pci", "fullvirt-vnuma", "paravirt-cmdline",
        "rbd-multihost-noauth", "pvh-type", "channel-pty", "channel-unix", "fullvirt-multiserial",
        "fullvirt-multiusb", "fullvirt-direct-kernel-boot", "max-gntframes", "max-eventchannels", "vif-typename",
        "vif-multi-ip", "usb", "usbctrl", "paravirt-e820_host", "fullvirt-hypervisor-features", "qemu-passthrough"]
PARSE_ONLY = ["fullvirt-vnuma-autocomplete", "fullvirt-vnuma-nodistances", "fullvirt-vnuma-partialdist"]
FORMAT_ONLY = ["disk-positional-parms-full", "disk-positional-parms-partial", "disk-qed",
               "paravirt-cmdline-extra-root", "paravirt-cmdline-bogus-extra-root", "paravirt-type", "fullvirt-type",
               "fullvirt-direct-kernel-boot-extra", "fullvirt-direct-kernel-boot-bogus-extra"]
XML_TO_CFG = BOTH + PARSE_ONLY
CFG_TO_XML = BOTH + FORMAT_ONLY

#: libxl JSON leaves whose libxl default equals the value libvirt writes explicitly (absent == this value)
DEFAULTS = {"/b_info/type.hvm/viridian": "False", "/b_info/type.hvm/sdl/enable": "False",
            "/b_info/type.hvm/serial": "none", "/b_info/localtime": "False"}
#: what libvirt's formatter fills in by itself (not carried by the cfg): (tag, attribute=value or None)
IMPLICIT_TAGS = {"address", "memballoon", "video", "model@vram"}
LIBVIRT_FIRMWARE_DIR = "/usr/lib/xen/boot"
#: where guiapp departs from libvirt's expected XML on purpose, and why
DELIBERATE = {
    "paravirt-cmdline-bogus-extra-root": "the cfg has no on_crash: guiapp keeps xl's default (destroy, xl.cfg(5)); "
                                         "libvirt writes restart, which xl would not do",
}


def _libvirt_xml(name: str) -> str:
    """libvirt's expected XML, with its build-time firmware dir replaced by this host's (as xlconfigtest does)."""
    text = (DATA / f"test-{name}.xml").read_text()
    ours = os.path.dirname(hvmloader_path())
    return text.replace("/LIBXL_FIRMWARE_DIR", ours).replace(LIBVIRT_FIRMWARE_DIR + "/", ours + "/")


def _flat(j, pre: str = "") -> dict:
    out: dict = {}
    if isinstance(j, dict):
        for k, v in j.items():
            out.update(_flat(v, f"{pre}/{k}"))
    elif isinstance(j, list):
        for i, v in enumerate(j):
            out.update(_flat(v, f"{pre}[{i}]"))
    else:
        out[pre] = j
    return out


def _json_diff(a: dict, b: dict) -> dict:
    fa, fb = _flat(a), _flat(b)
    diff = {}
    for key in set(fa) | set(fb):
        va, vb = fa.get(key, DEFAULTS.get(key)), fb.get(key, DEFAULTS.get(key))
        if va != vb:
            diff[key] = (va, vb)
    return diff


@pytest.fixture
def xl_json(xs_shim, xenstored, tmp_path):
    """``xl_json(cfg_text) -> dict | None``: libxl's JSON from the real ``xl -N create`` (None if xl refuses)."""
    if REAL_XL is None:
        pytest.skip("the real xl (xen-utils-4.17) is not installed")
    counter = iter(range(10 ** 6))

    def run(text: str):
        path = tmp_path / f"c{next(counter)}.cfg"
        path.write_text(text)
        env = dict(os.environ, LD_PRELOAD=str(xs_shim), XENSTORED_PATH=xenstored.socket)
        proc = subprocess.run([REAL_XL, "-N", "create", str(path)], capture_output=True, text=True, env=env,
                              timeout=30)
        return json.loads(proc.stdout) if proc.returncode == 0 else None
    return run


def _xml_to_cfg_case(name: str, xl_json) -> str:
    """'same', 'refused' (CONFIG_UNSUPPORTED) or a description of the difference."""
    try:
        ours = domain_to_xl(_libvirt_xml(name))
    except DriverError as e:
        assert e.code == C.VIR_ERR_CONFIG_UNSUPPORTED, (name, e.code, e.detail)
        return "refused"
    theirs = (DATA / f"test-{name}.cfg").read_text()
    a, b = parse_cfg(ours), parse_cfg(theirs)
    if "vnuma" in b:  # xl -N needs the host's NUMA nodes for vnuma: compare it as a setting
        if a.pop("vnuma", None) != b.pop("vnuma"):
            return "vnuma differs"
        ours, theirs = format_cfg(a), format_cfg(b)
    ja, jb = xl_json(ours), xl_json(theirs)
    if ja is None or jb is None:
        return f"xl refused {'ours' if ja is None else 'libvirt'}: {ours if ja is None else theirs}"
    diff = _json_diff(ja, jb)
    return "same" if not diff else f"libxl JSON differs: {diff}"


@pytest.mark.xen
def test_xml_to_cfg_means_what_libvirts_cfg_means(xl_json):
    results = {name: _xml_to_cfg_case(name, xl_json) for name in XML_TO_CFG}
    same = [n for n, r in results.items() if r == "same"]
    refused = [n for n, r in results.items() if r == "refused"]
    print(f"\nxl XML->cfg: {len(same)} of {len(results)} mean the same as libvirt's cfg (real xl -N JSON); "
          f"{len(refused)} refused with VIR_ERR_CONFIG_UNSUPPORTED: {refused}")
    for n, r in results.items():
        if r not in ("same", "refused"):
            print(f"  differs: {n}: {r}")
    assert len(same) >= 36, results
    assert len(same) + len(refused) == len(results), "a difference that is neither equal nor refused"


def _facts(xml: str) -> Counter:
    """Every element of a domain as (path, attributes, text), leaving out what libvirt fills in by itself."""
    root = etree.fromstring(xml.encode())
    out: Counter = Counter()
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = etree.QName(el).localname
        path = "/".join(etree.QName(a).localname for a in reversed(list(el.iterancestors()))) + "/" + tag
        if tag in IMPLICIT_TAGS or any(etree.QName(a).localname in IMPLICIT_TAGS for a in el.iterancestors()):
            continue
        if tag == "controller" and el.get("type") in ("ide", "xenbus") and len(el.attrib) == 2:
            continue  # libvirt's implicit controllers
        if tag == "input" and el.get("bus") in ("ps2", "xen"):
            continue  # the implicit ones of every guest
        attrs = tuple(sorted((k, v) for k, v in el.attrib.items() if f"{tag}@{k}" not in IMPLICIT_TAGS))
        text = (el.text or "").strip() if len(el) == 0 else ""
        out[(path, attrs, text)] += 1
    return out


def _cfg_to_xml_case(name: str) -> str:
    try:
        ours = xl_to_domain_xml((DATA / f"test-{name}.cfg").read_text(), f"test-{name}.cfg")
    except DriverError as e:
        assert e.code == C.VIR_ERR_CONFIG_UNSUPPORTED, (name, e.code, e.detail)
        return "refused"
    lost = _facts(_libvirt_xml(name)) - _facts(ours)
    return "lossless" if not lost else f"lost {sorted(lost.elements())}"


def test_cfg_to_xml_keeps_everything_of_libvirts_xml():
    results = {name: _cfg_to_xml_case(name) for name in CFG_TO_XML}
    good = [n for n, r in results.items() if r == "lossless"]
    refused = [n for n, r in results.items() if r == "refused"]
    print(f"\nxl cfg->XML: {len(good)} of {len(results)} keep all of libvirt's expected XML; "
          f"{len(refused)} refused with VIR_ERR_CONFIG_UNSUPPORTED: {refused}")
    for n, r in results.items():
        if r not in ("lossless", "refused"):
            print(f"  differs: {n}: {r} ({DELIBERATE.get(n, 'NOT EXPLAINED')})")
    assert len(good) >= 40, results
    assert set(results) - set(good) - set(refused) <= set(DELIBERATE), results


def test_pairs_are_libvirts_files():
    """The corpus is libvirt's 48 pairs, unchanged (NOTE says where they come from)."""
    assert len(list(DATA.glob("test-*.cfg"))) == len(list(DATA.glob("test-*.xml"))) == 48
    assert set(XML_TO_CFG) | set(CFG_TO_XML) == {p.stem[5:] for p in DATA.glob("test-*.cfg")}
    assert "xlconfigdata" in (DATA / "NOTE").read_text()
