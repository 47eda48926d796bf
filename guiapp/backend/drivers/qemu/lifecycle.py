"""Starting and stopping QEMU: the command line (and its preview, virConnectDomainXMLToNative), spawning
and bringing a guest up over QMP, create, shutdown, reboot, destroy, suspend and resume.

A restart runs the guest in a fresh QEMU with the same id (see :meth:`QemuSupervisor._restart`).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ... import constants as C
from ...errors import DriverError
from ...xml.domain import DomainDef
from .. import common
from ..base import DomainRef
from . import hostconf, savefile
from .capabilities import known_machines, kvm_usable
from .command import Command, RunPaths, build_command
from .dom import KEEP_RECORD, PAUSED, RUNNING, SHUTOFF, Dom, _err, _no_domain
from .graphics import drop_generated_socket
from .monitor import Monitor
from .networks import attach_tap
from .process import spawn, terminate, wait_exit
from .record import NicUse, RuntimeRecord, stopped_record
from .state import (
    CONSOLE_LOG,
    LEASE,
    PIDFILE,
    RECORD,
    next_domain_id,
    process_start_time,
    remove_runtime_files,
    try_lease,
)
from .supervise import QemuSupervisor
from .taps import _netdev_exists


class QemuLifecycle(QemuSupervisor):
    """Process lifecycle of :class:`~.driver.QemuDriver`."""

    _kvm: Optional[bool]  # whether KVM is usable, once probed

    if TYPE_CHECKING:  # in .managedsave
        def _managed_image(self, uuid: bytes) -> Optional[Path]: ...

    def kvm_available(self) -> bool:
        if self._kvm is None:
            self._kvm = kvm_usable()
        return self._kvm

    def command_line(self, xml_or_ref: Any) -> list[str]:
        """The exact QEMU argv this driver would run for a domain (XML text or DomainRef), without starting it."""
        if isinstance(xml_or_ref, DomainRef):
            dom = self._find(xml_or_ref)
            defn = (dom.config or dom.defn).copy()
            dom_id = dom.record.id if dom.active and dom.record and dom.record.id is not None else -1
        else:
            defn = self._parse(xml_or_ref)
            dom_id = -1
        return build_command(defn, self._paths(defn.uuid, dom_id), kvm_usable=self.kvm_available(),
                             resolve_bridge=self._bridge_for_preview, check_files=False,
                             bridge_helper=self._bridge_helper(), machines=known_machines,
                             host=hostconf.load(self.dirs.config)).argv

    def domain_xml_to_native(self, fmt: str, xml: str, flags: int) -> str:
        """libvirt's virConnectDomainXMLToNative for format 'qemu-argv': the argv as one shell-quoted line."""
        if fmt != "qemu-argv":
            raise _err(C.VIR_ERR_INVALID_ARG, f"unsupported native format '{fmt}'; use 'qemu-argv'")
        return shlex.join(self.command_line(xml))

    def _paths(self, uuid: bytes, dom_id: int) -> RunPaths:
        """Where QEMU puts a guest's files: its runtime directory, sockets named after its id."""
        d, sock = self.dirs.domain_dir(uuid), self.dirs.socket
        return RunPaths(qmp=str(sock(dom_id, "qmp")), qmp_cmd=str(sock(dom_id, "cmd")), pidfile=str(d / PIDFILE),
                        console_log=str(d / CONSOLE_LOG), vnc_socket=str(sock(dom_id, "vnc")),
                        qmp_stats=str(sock(dom_id, "stats")), runtime_dir=str(self.dirs.runtime))

    def _start(self, defn: DomainDef, *, paused: bool = False,
               restore: Optional[tuple[str, int, bool]] = None, keep_id: Optional[int] = None) -> Dom:
        """Start QEMU for ``defn`` (lock held).  ``restore``: (save file, stream offset, was running);
        ``keep_id``: a restart, which keeps the domain id and the console log going."""
        with self._mu:
            self._starting.add(defn.name)
        try:
            return self._start_locked(defn, paused, restore, keep_id)
        finally:
            with self._mu:
                self._starting.discard(defn.name)

    def _start_locked(self, defn: DomainDef, paused: bool, restore: Optional[tuple[str, int, bool]],
                      keep_id: Optional[int]) -> Dom:
        name = defn.name
        self._check_record_usable(defn.uuid)
        kvm = self.kvm_available() if defn.type == "kvm" else False
        self.dirs.check_socket_dir()
        dom_id = keep_id if keep_id is not None else next_domain_id(self.dirs)
        paths = self._paths(defn.uuid, dom_id)
        self.dirs.run_file(defn.uuid, RECORD)  # makes the domain's runtime directory
        old_rec = self._doms[name].record if name in self._doms else None
        for br in [i.bridge for i in defn.interfaces if i.type == "bridge"]:
            if br and not _netdev_exists(br):
                raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"bridge '{br}' does not exist on this host; create it "
                                                         f"or use another <interface> type")
        dom_is_new = name not in self._doms
        incoming_fd = None
        if restore is not None:
            incoming_fd = os.open(restore[0], os.O_RDONLY | os.O_CLOEXEC)
            os.lseek(incoming_fd, restore[1], os.SEEK_SET)
        try:
            cmd = build_command(defn, paths, kvm_usable=kvm, resolve_bridge=self._bridge_for_network,
                                tap_name=self._free_tap_names(), incoming=incoming_fd,
                                bridge_helper=self._bridge_helper(), machines=known_machines,
                                host=hostconf.load(self.dirs.config))
            existing = self._check_taps(defn, cmd)
            cmd_own_taps = [t.ifname for t in cmd.taps if t.bridge and t.ifname not in existing]
            sockets = (paths.qmp, paths.qmp_cmd, paths.qmp_stats, paths.vnc_socket)
            remove_runtime_files(self.dirs, defn.uuid, old_rec,
                                 keep=KEEP_RECORD + ((CONSOLE_LOG,) if keep_id else ()), extra=sockets)
            try:
                pid = spawn(cmd.argv, Path(paths.pidfile), pass_fds=[incoming_fd] if incoming_fd is not None else [])
            except BaseException:
                remove_runtime_files(self.dirs, defn.uuid, None, keep=() if dom_is_new else KEEP_RECORD,
                                     extra=sockets)
                raise
        finally:
            if incoming_fd is not None:
                os.close(incoming_fd)
        start_time = process_start_time(pid)
        dom = self._doms.get(name)
        if dom is None:
            dom = self._doms[name] = Dom(name, defn.uuid, seen=(SHUTOFF, C.VIR_DOMAIN_SHUTOFF_UNKNOWN))
        self._detach(dom)
        try:
            self._bring_up(dom, defn, cmd, pid, start_time, paths, paused, restore, dom_id, cmd_own_taps)
        except BaseException:
            self._detach(dom)
            terminate(pid, start_time, grace=1.0)
            if dom.config is not None:
                remove_runtime_files(self.dirs, dom.uuid, None, keep=KEEP_RECORD, extra=sockets)
                with self._mu:
                    dom.record = stopped_record(name, dom.uuid, C.VIR_DOMAIN_SHUTOFF_FAILED)
                    self._save_record(dom)
            else:
                remove_runtime_files(self.dirs, dom.uuid, None, extra=sockets)
                self._rec_cache.pop(str(self.dirs.domain_dir(dom.uuid) / RECORD), None)
                self._doms.pop(name, None)
            raise
        return dom

    def _bring_up(self, dom: Dom, defn: DomainDef, cmd: Command, pid: int, start_time: Optional[int],
                  paths: RunPaths, paused: bool, restore: Optional[tuple[str, int, bool]],
                  dom_id: int, own_taps: Optional[list[str]] = None) -> None:
        lease = try_lease(self.dirs.run_file(dom.uuid, LEASE))
        if lease is None:
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"another process holds the lease of domain '{dom.name}'")
        dom.lease_fd = lease
        mon = Monitor(self.mloop, paths.qmp, self._event_sink(dom.name))
        mon.connect(timeout=10)
        dom.monitor = mon
        live = defn.copy()
        live.id = dom_id
        if cmd.vnc_password:
            mon.execute("set_password", {"protocol": "vnc", "password": cmd.vnc_password})
        if restore is not None:
            deadline = time.monotonic() + 120
            while True:
                st = mon.execute("query-migrate")
                if st.get("status") == "completed":
                    break
                if st.get("status") in ("failed", "cancelled"):
                    raise _err(C.VIR_ERR_OPERATION_FAILED,
                               f"restoring '{dom.name}' failed: {st.get('error-desc', st.get('status'))}")
                status = mon.execute("query-status").get("status")
                if status not in ("inmigrate", "prelaunch") and st.get("status") in (None, "none"):
                    break
                if time.monotonic() > deadline:
                    raise _err(C.VIR_ERR_OPERATION_TIMEOUT, f"restoring '{dom.name}' took more than 120 s")
                time.sleep(0.01)
        chardevs = mon.execute("query-chardev")
        ptys = {c["label"]: c["filename"][4:] for c in chardevs if c.get("filename", "").startswith("pty:")}
        serials = list(live.serials) or [c for c in live.consoles[:1] if c.target_type != "virtio"]
        for i, con in enumerate(live.consoles):  # virtio consoles: charconsoleN (command.py)
            if con.target_type == "virtio" and ptys.get(f"charconsole{i}"):
                con.path = ptys[f"charconsole{i}"]
        for i, ch in enumerate(serials):
            path = ptys.get(f"charserial{i}")
            if path:
                ch.path = path
                if ch in live.serials and live.consoles and i == 0:
                    live.consoles[0].path = path
        vnc_port = None
        if live.graphics:
            with contextlib.suppress(DriverError):
                servers = mon.execute("query-vnc-servers")
                for s in servers:
                    for srv in s.get("server", []):
                        if srv.get("family") in ("ipv4", "ipv6") and srv.get("service", "").isdigit():
                            vnc_port = int(srv["service"])
            if drop_generated_socket(live.graphics[0], str(self.dirs.runtime)):  # as build_command did
                live.refresh()
            g = live.graphics[0]
            if vnc_port is not None and g.socket is None:
                g.port = vnc_port
        for tap in cmd.taps:
            if tap.bridge:
                attach_tap(self._net_run, tap.ifname, tap.bridge, live.interfaces[tap.index].mac)
            live.interfaces[tap.index].target_dev = tap.ifname
        nets = [NicUse(i.network, i.mac, i.target_dev) for i in live.interfaces
                if i.type == "network" and i.network]
        if defn.current_memory_kib < defn.memory_kib and cmd.balloon:
            mon.execute("balloon", {"value": defn.current_memory_kib * 1024})
        tids = [c["thread-id"] for c in mon.execute("query-cpus-fast")]
        running = not paused and (restore is None or restore[2])
        if running:
            mon.execute("cont")
        if restore is not None:
            state = (RUNNING, C.VIR_DOMAIN_RUNNING_RESTORED) if running else (PAUSED, C.VIR_DOMAIN_PAUSED_USER)
        else:
            state = (RUNNING, C.VIR_DOMAIN_RUNNING_BOOTED) if running else (PAUSED, C.VIR_DOMAIN_PAUSED_USER)
        with self._mu:  # a concurrent _sync() must not put the old record back before this one is saved
            now = time.time()
            dom.record = RuntimeRecord(
                name=dom.name, uuid=dom.uuid.hex(), id=dom_id, pid=pid, start_time=start_time, state=state[0],
                reason=state[1], qmp=paths.qmp, qmp_cmd=paths.qmp_cmd, qmp_stats=paths.qmp_stats, vcpu_tids=tids,
                taps=[t.ifname for t in cmd.taps], argv=cmd.argv, vnc_port=vnc_port, vnc_socket=paths.vnc_socket,
                pidfile=paths.pidfile, no_shutdown=cmd.no_shutdown, started=now, changed_at=now, nets=nets,
                own_taps=own_taps or [])
            self._set_live(dom, live)
            dom.balloon_bytes = defn.current_memory_kib * 1024
            self._save_record(dom)
        self._watch(dom)

    def domain_create_xml(self, xml: str, flags: int) -> DomainRef:
        defn = self._parse(xml)
        with self.lock():
            self._sync()
            same = self._check_unique(defn, allow_same=True)
            if same is not None and same.active:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{defn.name}' is already active")
            dom = self._start(defn, paused=bool(flags & C.VIR_DOMAIN_START_PAUSED))
        self._note_state(dom)
        return dom.ref()

    def domain_create(self, ref: DomainRef, flags: int) -> DomainRef:
        with self.lock():
            dom = self._find(ref)
            if dom.active:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is already running")
            if dom.config is None:
                raise _no_domain(f"domain '{dom.name}' has no persistent definition")
            dom.seen = self._state(dom)
            image = self._managed_image(dom.uuid)
            if image is not None and flags & C.VIR_DOMAIN_START_FORCE_BOOT:
                image.unlink()
                image = None
            if image is None:
                self._start(dom.config.copy(), paused=bool(flags & C.VIR_DOMAIN_START_PAUSED))
            else:  # a managed save image: restore it (as it was, paused if asked), then it is used up
                meta, offset = savefile.read_header(str(image))
                running = bool(meta.get("running", True)) and not flags & C.VIR_DOMAIN_START_PAUSED
                self._start(self._parse(meta["xml"]), restore=(str(image), offset, running))
                image.unlink()
        self._note_state(dom)
        return dom.ref()

    def domain_shutdown(self, ref: DomainRef, flags: int) -> None:
        dom = self._active(ref)
        if "acpi" not in dom.defn.features:
            raise _err(C.VIR_ERR_OPERATION_INVALID,
                       f"domain '{dom.name}' has no ACPI (<features><acpi/></features>), so it cannot be asked "
                       f"to shut down; use destroy")
        if dom.record and dom.record.state == PAUSED:
            raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is paused; resume it before shutting down")
        self._qmp(dom, "system_powerdown")

    def domain_reset(self, ref: DomainRef, flags: int) -> None:
        """QMP system_reset: the reset button, no guest shutdown (qemuDomainReset)."""
        common.check_flags(flags, 0, "virDomainReset", C.VIR_FROM_QEMU)
        with self.lock():
            self._qmp(self._active(ref), "system_reset")

    def domain_reboot(self, ref: DomainRef, flags: int) -> None:
        with self.lock():
            dom = self._active(ref)
            rec = dom.record
            assert rec is not None
            if rec.state != RUNNING:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is not running")
            if "acpi" in dom.defn.features:
                rec.fake_reboot = True
                self._save_record(dom)
                if not rec.no_shutdown:
                    self._qmp(dom, "set-action", {"shutdown": "pause"})  # stay around to apply on_reboot
                self._qmp(dom, "system_powerdown")
            else:
                self._qmp(dom, "send-key", {"keys": [{"type": "qcode", "data": k}
                                                     for k in ("ctrl", "alt", "delete")]})

    def domain_destroy(self, ref: DomainRef, flags: int) -> None:
        with self.lock():
            dom = self._active(ref)
            self._kill(dom, C.VIR_DOMAIN_SHUTOFF_DESTROYED)
        self._note_state(dom)

    def _kill(self, dom: Dom, reason: int) -> None:
        """Stop QEMU (quit, then signals) and record the shut-off reason (lock held)."""
        rec = dom.record
        assert rec is not None
        rec.exit_reason = reason
        self._save_record(dom)
        pid, start = rec.pid, rec.start_time
        assert pid is not None
        with contextlib.suppress(DriverError):
            self._qmp(dom, "quit", timeout=3)
        if not wait_exit(pid, start, 2.0):
            terminate(pid, start)
        self._finalize(dom, reason)

    def domain_suspend(self, ref: DomainRef) -> None:
        with self.lock():
            dom = self._active(ref)
            rec = dom.record
            assert rec is not None
            if rec.state != RUNNING:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is not running")
            rec.pause_reason = C.VIR_DOMAIN_PAUSED_USER
            self._qmp(dom, "stop")
            rec.pause_reason = None
            rec.set_state(PAUSED, C.VIR_DOMAIN_PAUSED_USER, changed_at=time.time())
            self._save_record(dom)
        self._note_state(dom)

    def domain_resume(self, ref: DomainRef) -> None:
        with self.lock():
            dom = self._active(ref)
            rec = dom.record
            assert rec is not None
            if rec.state != PAUSED or rec.shutting_down:
                raise _err(C.VIR_ERR_OPERATION_INVALID, f"domain '{dom.name}' is not paused")
            self._qmp(dom, "cont")
            rec.set_state(RUNNING, C.VIR_DOMAIN_RUNNING_UNPAUSED, changed_at=time.time())
            self._save_record(dom)
        self._note_state(dom)


def _dummy_paths() -> RunPaths:
    return RunPaths("/nonexistent/qmp", "/nonexistent/qmp2", "/nonexistent/pid", "/nonexistent/log",
                    "/nonexistent/vnc")
