"""The xl sub-driver's parsing and discovery (no daemon needed)."""

from __future__ import annotations

import os

import pytest

from guiapp.backend import constants as C
from guiapp.backend.drivers.xen.capabilities import guests_from_caps, hypervisor_version, node_info
from guiapp.backend.drivers.xen.xl import Xl, find_xl, parse_info, parse_list
from guiapp.backend.errors import DriverError

LIST = """Name                                        ID   Mem VCPUs\tState\tTime(s)
Domain-0                                     0  2048     4     r-----     123.4
my guest with spaces                         3   512     1     --p---       0.5
dying                                        7   128     1     -----d       1.0
crashed                                      8   128     1     ----c-       1.0
idle                                         9   128     2     -b----       2.0
"""


def test_parse_list_and_states():
    rows = parse_list(LIST)
    assert [(r.name, r.domid, r.mem_mib, r.vcpus) for r in rows][:2] == [("Domain-0", 0, 2048, 4),
                                                                          ("my guest with spaces", 3, 512, 1)]
    assert [r.libvirt_state for r in rows] == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_SHUTDOWN,
                                               C.VIR_DOMAIN_CRASHED, C.VIR_DOMAIN_BLOCKED]
    assert rows[0].cpu_time == 123.4


def test_parse_info_and_what_is_derived_from_it():
    info = parse_info("host                   : h1\nmachine                : x86_64\nnr_cpus                : 8\n"
                      "nr_nodes               : 1\ncores_per_socket       : 4\nthreads_per_core       : 2\n"
                      "cpu_mhz                : 2893.202\ntotal_memory           : 32768\nxen_major              : 4\n"
                      "xen_minor              : 17\nxen_extra              : .2-pre\n"
                      "xen_caps               : xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p\n"
                      "                         hvm-3.0-x86_64\n")
    assert info["xen_caps"].split() == ["xen-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_32p", "hvm-3.0-x86_64"]
    assert node_info(info) == ["x86_64", 32768, 8, 2893, 1, 1, 4, 2]
    assert hypervisor_version(info) == 4_017_002
    guests = guests_from_caps(info["xen_caps"], loader="/L", emulator="/E")
    assert [(g.os_type, g.arch, g.wordsize, g.loader, g.emulator) for g in guests] == [
        ("xen", "x86_64", 64, None, "/E"), ("hvm", "i686", 32, "/L", "/E"), ("hvm", "x86_64", 64, "/L", "/E")]
    assert {"pae", "nonpae"} <= set(guests[1].features)


def test_find_xl_order(monkeypatch, tmp_path):
    monkeypatch.setenv("GUIAPP_XL", "/from/env/xl")
    assert find_xl("/explicit/xl") == "/explicit/xl"
    assert find_xl() == "/from/env/xl"
    monkeypatch.delenv("GUIAPP_XL")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "xl").write_text("#!/bin/sh\n")
    (bindir / "xl").chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    assert find_xl() == str(bindir / "xl")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    found = find_xl()
    assert found is None or found.startswith("/usr/lib/xen-")


def test_xl_errors_are_coded_and_carry_the_message(tmp_path):
    script = tmp_path / "xl"
    script.write_text("#!/bin/sh\necho 'Parsing config from x' >&2\necho 'libxl: error: it broke' >&2\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(DriverError) as exc:
        Xl(str(script)).pause(3)
    assert (exc.value.code, exc.value.domain) == (C.VIR_ERR_OPERATION_FAILED, C.VIR_FROM_XEN)
    assert exc.value.detail == "xl pause failed (exit 3): libxl: error: it broke"
    with pytest.raises(DriverError) as exc:
        Xl(None).list()
    assert exc.value.code == C.VIR_ERR_NO_SUPPORT and "GUIAPP_XL" in exc.value.detail
    with pytest.raises(DriverError) as exc:
        Xl(str(tmp_path / "missing")).list()
    assert exc.value.code == C.VIR_ERR_OPERATION_FAILED and "cannot run xl" in exc.value.detail


def test_xl_runs_are_bounded(tmp_path):
    script = tmp_path / "xl"
    script.write_text("#!/bin/sh\nexec sleep 30\n")
    script.chmod(0o755)
    with pytest.raises(DriverError) as exc:
        Xl(str(script), change_timeout=0.3).destroy(1)
    assert exc.value.code == C.VIR_ERR_OPERATION_TIMEOUT
    assert os.access(script, os.X_OK)
