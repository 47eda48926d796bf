"""The QEMU driver on real guests: the tiny Linux booted with TCG (domain type 'qemu')."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from qemu_testlib import (
    console_text,
    dom_dir,
    guest_xml,
    runtime_dir,
    type_on_console,
    wait_console,
    wait_for,
    wait_state,
)

import guiapp.backend as libvirt
from guiapp.backend import constants as C

QEMU_BIN = shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64"

pytestmark = [pytest.mark.qemu, pytest.mark.slow]

RUNTIME_ONLY = {"pid", "console.log"}


def leftover_runtime_files(xdg, name: str) -> list[str]:
    """The domain's runtime-only files, and sockets of ids no running domain holds."""
    run = runtime_dir(xdg)
    d = dom_dir(run, name)
    own = sorted(p.name for p in d.iterdir() if p.name in RUNTIME_ONLY) if d.exists() else []
    live = set()
    for r in run.glob("*/record.json"):
        with contextlib.suppress(OSError, ValueError):
            rec = json.loads(r.read_text())
            if rec.get("pid") and rec.get("state") != C.VIR_DOMAIN_SHUTOFF:
                live.add(str(rec.get("id")))
    sock = run / "sock"
    return own + (sorted(p.name for p in sock.iterdir() if p.name.split("-")[0] not in live) if sock.exists() else [])


def record(xdg, name: str) -> dict:
    return json.loads((dom_dir(runtime_dir(xdg), name) / "record.json").read_text())


def test_define_start_pause_stats_balloon_shutdown(conn, xdg, tiny_guest, tmp_path):
    kernel, initrd = tiny_guest
    disk = tmp_path / "data.img"
    disk.write_bytes(b"\0" * 4 * 1024 * 1024)
    events = []
    cb = conn.domainEventRegisterAny(None, C.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                     lambda c, d, ev, det, op: events.append((d.name(), ev, det)), None)
    nic = "<interface type='user'><mac address='52:54:00:12:34:56'/><model type='virtio'/></interface>" \
          f"<disk type='file' device='disk'><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>"
    dom = conn.defineXML(guest_xml("life", kernel, initrd, cmdline="guiapp.dhcp guiapp.ping=10.0.2.2", nics=nic))
    assert conn.listDefinedDomains() == ["life"] and dom.isPersistent() == 1 and dom.isActive() == 0
    assert dom.state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_UNKNOWN]

    dom.create()
    assert dom.state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_BOOTED]
    assert dom.ID() > 0 and conn.lookupByID(dom.ID()).name() == "life" and conn.listDomainsID() == [dom.ID()]
    wait_console(xdg, "life", "GUIAPP-PING-OK 10.0.2.2")
    text = console_text(xdg, "life")
    assert "GUIAPP-MAC 52:54:00:12:34:56" in text and "GUIAPP-IP 10.0.2.15" in text

    live = dom.XMLDesc()
    assert f"id='{dom.ID()}'" in live
    tty = live.split("<console", 1)[1].split("tty='", 1)[1].split("'", 1)[0]
    assert tty.startswith("/dev/pts/") and os.path.exists(tty)
    assert "tty=" not in dom.XMLDesc(C.VIR_DOMAIN_XML_INACTIVE)

    dom.suspend()
    assert dom.state() == [C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_PAUSED_USER]
    t0 = dom.info()[4]
    time.sleep(0.3)
    assert dom.info()[4] - t0 < 100_000_000  # a paused guest's vCPU burns (almost) nothing
    dom.resume()
    assert dom.state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_UNPAUSED]

    (d, st), = conn.getAllDomainStats()
    assert d.name() == "life" and st["state.state"] == C.VIR_DOMAIN_RUNNING
    assert st["cpu.time"] > 0 and st["vcpu.0.time"] > 0 and st["balloon.maximum"] == 131072
    blk = wait_for(lambda: (lambda s: s if s.get("block.count") == 1 and s["block.0.rd.bytes"] > 0 else None)(
        conn.getAllDomainStats(C.VIR_DOMAIN_STATS_BLOCK)[0][1]), 5, "block counters of vda")
    assert blk["block.0.name"] == "drive-vda" and blk["block.0.rd.reqs"] > 0  # the guest read its partition table
    dom.setMemory(96 * 1024)
    wait_for(lambda: conn.getAllDomainStats(C.VIR_DOMAIN_STATS_BALLOON)[0][1]["balloon.current"] == 96 * 1024, 10,
             "the balloon to reach 96 MiB")
    assert dom.info()[2] == 96 * 1024 and "<currentMemory unit='KiB'>98304<" in dom.XMLDesc()

    dom.shutdown()
    wait_state(dom, C.VIR_DOMAIN_SHUTOFF)
    assert dom.state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN]
    assert conn.listDomainsID() == [] and conn.listDefinedDomains() == ["life"]
    # the guest's SHUTDOWN event makes it shut off at once; its files go when QEMU has exited, moments later
    wait_for(lambda: leftover_runtime_files(xdg, "life") == [], 5, "the runtime files to be cleaned")
    wait_for(lambda: any(e[1] == C.VIR_DOMAIN_EVENT_STOPPED for e in events), 5, "the STOPPED event")
    kinds = [(e, d) for _, e, d in events]
    assert kinds[:4] == [(C.VIR_DOMAIN_EVENT_DEFINED, C.VIR_DOMAIN_EVENT_DEFINED_ADDED),
                         (C.VIR_DOMAIN_EVENT_STARTED, C.VIR_DOMAIN_EVENT_STARTED_BOOTED),
                         (C.VIR_DOMAIN_EVENT_SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
                         (C.VIR_DOMAIN_EVENT_RESUMED, C.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)]
    assert (C.VIR_DOMAIN_EVENT_STOPPED, C.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN) in kinds
    conn.domainEventDeregisterAny(cb)

    dom.undefine()
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.lookupByName("life")
    assert ei.value.get_error_code() == C.VIR_ERR_NO_DOMAIN


def test_lifecycle_actions_on_reboot_on_poweroff_on_crash(conn, xdg, tiny_guest):
    kernel, initrd = tiny_guest
    doms = {}
    for name, tag in (("rb-restart", "<on_reboot>restart</on_reboot>"),
                      ("rb-destroy", "<on_reboot>destroy</on_reboot>"),
                      ("rb-preserve", "<on_reboot>preserve</on_reboot>"),
                      ("cr-preserve", "<on_crash>preserve</on_crash>"),
                      ("cr-destroy", "<on_crash>destroy</on_crash>"),
                      ("po-restart", "<on_poweroff>restart</on_poweroff>"),
                      ("po-preserve", "<on_poweroff>preserve</on_poweroff>")):
        doms[name] = conn.defineXML(guest_xml(name, kernel, initrd, lifecycle=tag))
        doms[name].create()
    for name in doms:
        wait_console(xdg, name)
    for name in ("rb-restart", "rb-destroy", "rb-preserve"):
        doms[name].reboot()
    for name in ("po-restart", "po-preserve"):
        doms[name].shutdown()
    for name in ("cr-preserve", "cr-destroy"):
        type_on_console(doms[name], "echo c > /proc/sysrq-trigger")

    wait_console(xdg, "rb-restart", count=2)
    assert doms["rb-restart"].state()[0] == C.VIR_DOMAIN_RUNNING
    assert conn.lookupByName("rb-restart").ID() == doms["rb-restart"].ID()  # a reboot keeps the id
    wait_state(doms["rb-destroy"], C.VIR_DOMAIN_SHUTOFF)
    assert doms["rb-destroy"].state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN]
    wait_state(doms["rb-preserve"], C.VIR_DOMAIN_PAUSED)
    assert doms["rb-preserve"].state() == [C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_PAUSED_SHUTTING_DOWN]
    wait_state(doms["cr-preserve"], C.VIR_DOMAIN_CRASHED)
    assert doms["cr-preserve"].state() == [C.VIR_DOMAIN_CRASHED, C.VIR_DOMAIN_CRASHED_PANICKED]
    assert doms["cr-preserve"].isActive() == 1  # preserved for inspection
    wait_state(doms["cr-destroy"], C.VIR_DOMAIN_SHUTOFF)
    assert doms["cr-destroy"].state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_CRASHED]

    wait_console(xdg, "po-restart", count=2)
    assert doms["po-restart"].state()[0] == C.VIR_DOMAIN_RUNNING
    wait_state(doms["po-preserve"], C.VIR_DOMAIN_PAUSED)
    assert doms["po-preserve"].state() == [C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_PAUSED_SHUTTING_DOWN]

    for name in ("rb-restart", "rb-preserve", "cr-preserve", "po-restart", "po-preserve"):
        doms[name].destroy()
        assert doms[name].state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_DESTROYED]
        assert leftover_runtime_files(xdg, name) == []


SECOND_PROCESS = textwrap.dedent("""
    import json, sys, time
    import guiapp.backend as libvirt
    c = libvirt.open("qemu:///session")
    d = c.lookupByName(sys.argv[1])
    out = {"id": d.ID(), "state": d.state(), "ids": c.listDomainsID(), "xml": d.XMLDesc()}
    if sys.argv[2] == "pause":
        d.suspend()
    elif sys.argv[2] == "shutdown-nowait":
        d.shutdown()
    elif sys.argv[2] == "suspend":
        d.suspend(); out["after"] = d.state(); d.resume(); out["resumed"] = d.state()
    elif sys.argv[2] == "shutdown":
        d.shutdown()
        deadline = time.time() + 30
        while d.state()[0] != libvirt.VIR_DOMAIN_SHUTOFF and time.time() < deadline:
            time.sleep(0.05)
        out["after"] = d.state()
    c.close()
    print(json.dumps(out))
""")


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(libvirt.__file__))))


def run_second_process(name: str, action: str) -> dict:
    r = subprocess.run([sys.executable, "-c", SECOND_PROCESS, name, action], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "PYTHONPATH": REPO})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_reattach_second_process_and_kill9(conn, xdg, tiny_guest):
    kernel, initrd = tiny_guest
    dom = conn.defineXML(guest_xml("shared", kernel, initrd))
    dom.create()
    wait_console(xdg, "shared")
    # another process (guiapp-virsh, say) sees the same guest and drives it through the command socket
    seen = run_second_process("shared", "suspend")
    assert seen["id"] == dom.ID() and seen["ids"] == [dom.ID()] and seen["state"][0] == C.VIR_DOMAIN_RUNNING
    assert seen["after"] == [C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_PAUSED_USER]
    assert seen["resumed"][0] == C.VIR_DOMAIN_RUNNING
    assert "/dev/pts/" in seen["xml"]
    wait_for(lambda: dom.state()[0] == C.VIR_DOMAIN_RUNNING, 5, "this process to see the guest running again")
    # a change made by another process reaches this process's event callbacks
    events = []
    conn.domainEventRegisterAny(None, C.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                lambda c, d, ev, det, op: events.append((ev, det)), None)
    run_second_process("shared", "pause")
    wait_for(lambda: (C.VIR_DOMAIN_EVENT_SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED) in events, 5,
             "the SUSPENDED event of a pause made by another process")
    assert dom.state() == [C.VIR_DOMAIN_PAUSED, C.VIR_DOMAIN_PAUSED_USER]
    dom.resume()

    # this process lets go: a new process re-attaches, takes the event socket and handles the ACPI shutdown
    conn.close()
    seen = run_second_process("shared", "shutdown")
    assert seen["after"] == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN]
    assert leftover_runtime_files(xdg, "shared") == []

    # nobody listening when the guest powers off: QEMU ends by itself and the next look says "shutdown"
    c2 = libvirt.open("qemu:///session")
    c2.lookupByName("shared").create()
    c2.close()
    wait_console(xdg, "shared")
    run_second_process("shared", "shutdown-nowait")
    pidfile = dom_dir(runtime_dir(xdg), "shared") / "pid"
    wait_for(lambda: not pidfile.exists(), 30, "QEMU to end after the guest's power-off")
    c2 = libvirt.open("qemu:///session")
    try:
        dom = c2.lookupByName("shared")
        assert dom.state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_SHUTDOWN]
        # kill -9 of QEMU is noticed (through a pidfd) and reported as a crash
        dom.create()
        pid = record(xdg, "shared")["pid"]
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        wait_state(dom, C.VIR_DOMAIN_SHUTOFF, timeout=5)
        assert time.monotonic() - t0 < 3
        assert dom.state() == [C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_SHUTOFF_CRASHED]
        wait_for(lambda: leftover_runtime_files(xdg, "shared") == [], 5, "runtime files to be cleaned")
    finally:
        c2.close()


def test_stale_runtime_entry_is_dropped_on_open(conn, xdg, tiny_guest):
    kernel, initrd = tiny_guest
    dom = conn.createXML(guest_xml("stale", kernel, initrd), 0)
    pid = record(xdg, "stale")["pid"]
    conn.close()  # nobody watches the guest now
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z",
             5, "qemu to die")
    c2 = libvirt.open("qemu:///session")
    try:
        assert c2.listAllDomains() == []
        assert not dom_dir(runtime_dir(xdg), "stale").exists()
    finally:
        c2.close()
    del dom


def test_save_and_restore(conn, xdg, tiny_guest, tmp_path):
    kernel, initrd = tiny_guest
    dom = conn.createXML(guest_xml("saver", kernel, initrd), 0)
    wait_console(xdg, "saver")
    path = str(tmp_path / "saver.sav")
    dom.save(path)
    assert os.path.getsize(path) > 1024 * 1024
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.lookupByName("saver")  # transient: gone once saved
    assert ei.value.get_error_code() == C.VIR_ERR_NO_DOMAIN
    assert leftover_runtime_files(xdg, "saver") == []
    conn.restore(path)
    dom = conn.lookupByName("saver")
    assert dom.state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_RESTORED]
    type_on_console(dom, "echo GUIAPP-ALIVE-$((6*7))")
    wait_console(xdg, "saver", "GUIAPP-ALIVE-42", timeout=30)
    dom.destroy()
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.restore(str(tmp_path / "missing.sav"))
    assert ei.value.get_error_code() == C.VIR_ERR_OPERATION_FAILED


@pytest.mark.parametrize("case", ["bad-xml", "no-emulator", "no-kernel", "qemu-refuses", "duplicate"])
def test_start_errors_leave_nothing_behind(conn, xdg, tiny_guest, tmp_path, case):
    kernel, initrd = tiny_guest
    xml = guest_xml("broken", kernel, initrd)
    code = {"bad-xml": C.VIR_ERR_XML_DETAIL, "no-emulator": C.VIR_ERR_CONFIG_UNSUPPORTED,
            "no-kernel": C.VIR_ERR_NO_KERNEL, "qemu-refuses": C.VIR_ERR_OPERATION_FAILED,
            "duplicate": C.VIR_ERR_OPERATION_FAILED}[case]
    if case == "bad-xml":
        xml = xml.replace("</name>", "</nam>")
    elif case == "no-emulator":
        xml = xml.replace("<devices>", f"<devices><emulator>{tmp_path}/qemu-system-nope</emulator>")
    elif case == "no-kernel":
        xml = xml.replace(kernel, str(tmp_path / "vmlinuz-missing"))
    elif case == "qemu-refuses":
        img = tmp_path / "raw.img"
        img.write_bytes(b"\0" * 65536)
        xml = xml.replace("<devices>", f"<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                                       f"<source file='{img}'/><target dev='vda'/></disk>")
    elif case == "duplicate":
        first = conn.createXML(xml, 0)
    with pytest.raises(libvirt.libvirtError) as ei:
        conn.createXML(xml, 0)
    assert ei.value.get_error_code() == code, ei.value
    if case == "qemu-refuses":
        assert "qcow2" in str(ei.value)
    if case == "duplicate":
        first.destroy()
    assert leftover_runtime_files(xdg, "broken") == []
    assert not dom_dir(runtime_dir(xdg), "broken").exists()
    assert conn.listAllDomains() == []


def test_socket_networks_server_client_ping(conn, xdg, tiny_guest):
    kernel, initrd = tiny_guest
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    nic = "<interface type='{t}'><source address='127.0.0.1' port='{p}'/><model type='virtio'/></interface>"
    srv = conn.createXML(guest_xml("net-srv", kernel, initrd, nics=nic.format(t="server", p=port),
                                   cmdline="guiapp.ip=10.9.0.1/24"), 0)
    cli = conn.createXML(guest_xml("net-cli", kernel, initrd, nics=nic.format(t="client", p=port),
                                   cmdline="guiapp.ip=10.9.0.2/24 guiapp.ping=10.9.0.1"), 0)
    wait_console(xdg, "net-cli", "GUIAPP-PING-OK 10.9.0.1")
    srv.destroy()
    cli.destroy()


NETNS_PROCESS = textwrap.dedent("""
    import json, os, subprocess, sys, time
    def sh(*argv):
        subprocess.run(argv, check=True)
    sh("ip", "link", "set", "lo", "up", "multicast", "on")
    sh("ip", "route", "add", "224.0.0.0/4", "dev", "lo")
    for br, addr in (("br0", "10.6.0.1/24"), ("virbr0", "10.5.0.1/24")):
        sh("ip", "link", "add", br, "type", "bridge")
        sh("ip", "addr", "add", addr, "dev", br)
        sh("ip", "link", "set", br, "up")
    import guiapp.backend as libvirt
    kernel, initrd, rundir, ifup = sys.argv[1:5]
    c = libvirt.open("qemu:///session")
    def xml(name, nic, cmdline):
        return (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory>"
                f"<os><type>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>"
                f"<cmdline>console=ttyS0 quiet {cmdline}</cmdline></os>"
                f"<devices><serial type='pty'/>{nic}</devices></domain>")
    model = "<model type='virtio'/>"
    mcast = "<interface type='mcast'><source address='230.0.0.1' port='5558'><local address='127.0.0.1'/></source>"
    guests = {
        "mc-a": (mcast + model + "</interface>", "guiapp.ip=10.8.0.1/24", None),
        "mc-b": (mcast + model + "</interface>", "guiapp.ip=10.8.0.2/24 guiapp.ping=10.8.0.1", "10.8.0.1"),
        "bridged": ("<interface type='bridge'><source bridge='br0'/>" + model + "</interface>",
                    "guiapp.ip=10.6.0.2/24 guiapp.ping=10.6.0.1", "10.6.0.1"),
        "networked": ("<interface type='network'><source network='default'/>" + model + "</interface>",
                      "guiapp.ip=10.5.0.2/24 guiapp.ping=10.5.0.1", "10.5.0.1"),
        "scripted": (f"<interface type='ethernet'><script path='{ifup}'/>" + model + "</interface>",
                     "guiapp.ip=10.7.0.2/24 guiapp.ping=10.7.0.1", "10.7.0.1"),
    }
    doms = {n: c.createXML(xml(n, nic, cmd), 0) for n, (nic, cmd, _) in guests.items()}
    pinged = {}
    deadline = time.time() + 90
    while time.time() < deadline and len(pinged) < 4:
        for n, (_, _, target) in guests.items():
            if target and n not in pinged:
                try:
                    log = open(os.path.join(rundir, doms[n].UUIDString().replace("-", ""), "console.log"),
                               errors="replace").read()
                except OSError:
                    log = ""
                if "GUIAPP-PING-OK " + target in log:
                    pinged[n] = True
        time.sleep(0.1)
    stats = {d.name(): s for d, s in c.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_INTERFACE)}
    masters = {}
    for n in ("bridged", "networked"):
        tap = stats[n].get("net.0.name", "")
        link = json.loads(subprocess.run(["ip", "-j", "link", "show", tap], capture_output=True, text=True).stdout)
        masters[n] = link[0].get("master", "") if tap else ""
    for d in doms.values():
        d.destroy()
    c.close()
    print(json.dumps({"pinged": sorted(pinged), "stats": stats, "masters": masters}))
""")

IFUP = """#!/bin/sh
ip link set "$1" up
ip addr add 10.7.0.1/24 dev "$1"
"""


def test_network_modes_ping_in_private_netns(xdg, tiny_guest, tmp_path):
    """mcast, bridge, network and ethernet (with its script) guests ping their peers in a private netns."""
    kernel, initrd = tiny_guest
    if os.geteuid() != 0 or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs root and unshare -n (a private network namespace for bridges, taps and multicast)")
    ifup = tmp_path / "qemu-ifup"
    ifup.write_text(IFUP)
    ifup.chmod(0o755)
    r = subprocess.run(["unshare", "-n", sys.executable, "-c", NETNS_PROCESS, kernel, initrd, str(runtime_dir(xdg)),
                        str(ifup)], capture_output=True, text=True, timeout=180, env={**os.environ, "PYTHONPATH": REPO})
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["pinged"] == ["bridged", "mc-b", "networked", "scripted"], out
    assert out["masters"] == {"bridged": "br0", "networked": "virbr0"}
    st = out["stats"]["bridged"]
    assert st["net.count"] == 1 and st["net.0.name"].startswith("vnet")
    assert st["net.0.rx.bytes"] > 0 and st["net.0.tx.bytes"] > 0


SEED_KVM = """<domain type='kvm'>
  <name>demo2</name>
  <uuid>4dea24b3-1d52-d8f3-2516-782e98a23fa0</uuid>
  <memory>131072</memory>
  <vcpu>1</vcpu>
  <os>
    <type>hvm</type>
  </os>
  <devices>
    <emulator>{emulator}</emulator>
    <disk type='file' device='disk'>
      <source file='{disk}'/>
      <target dev='hda'/>
    </disk>
    <interface type='user'>
      <mac address='24:42:53:21:52:45'/>
    </interface>
    <graphics type='vnc' port='-1'/>
  </devices>
</domain>"""


def test_seed_kvm_example_runs_under_kvm(conn, xdg, tmp_path):
    """The seed's KVM example (paths adapted) starts with accel=kvm; QMP confirms KVM; firmware-level only."""
    from guiapp.backend.drivers.qemu.capabilities import kvm_usable
    if not os.path.exists("/dev/kvm"):
        pytest.skip("no /dev/kvm on this host: type='kvm' cannot start here")
    if not kvm_usable():
        pytest.skip("/dev/kvm exists but does not open read-write with the KVM API")
    disk = tmp_path / "diskboot.img"
    disk.write_bytes(b"\0" * 1024 * 1024)  # no boot sector: SeaBIOS runs and finds nothing to boot
    dom = conn.createXML(SEED_KVM.format(emulator=QEMU_BIN, disk=disk), 0)
    assert dom.state() == [C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_RUNNING_BOOTED]
    from qemu.qmp.legacy import QEMUMonitorProtocol
    qmp = QEMUMonitorProtocol(record(xdg, "demo2")["qmp_cmd"])
    qmp.connect()
    try:
        kvm = qmp.cmd("query-kvm")
        status = qmp.cmd("query-status")
    finally:
        qmp.close()
    assert kvm == {"enabled": True, "present": True}
    assert status["running"] is True
    argv = record(xdg, "demo2")["argv"]
    assert "pc,accel=kvm,acpi=off" in argv and "24:42:53:21:52:45" in " ".join(argv)
    live = dom.XMLDesc()
    port = int(live.split("<graphics", 1)[1].split("port='", 1)[1].split("'", 1)[0])
    assert port == -1  # autoport without a listen address: unix socket only, no TCP port (issue 11)
    assert os.path.exists(record(xdg, "demo2")["vnc_socket"])
    dom.destroy()
    assert conn.listAllDomains() == []  # transient: gone once destroyed
