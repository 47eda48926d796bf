"""QEMU live device changes over QMP, and the persistent edits that go with them (the DomainHardwareOps family).

* disks: ``blockdev-add`` + ``device_add`` (virtio-blk, virtio-scsi, usb-storage); detach with ``device_del``
  and waiting for the device to go (QEMU's ``DEVICE_DELETED`` event, else its QOM tree); CD-ROM media with
  ``blockdev-change-medium`` / ``eject`` (``updateDeviceFlags``);
* NICs: ``netdev_add`` + ``device_add`` for every interface type the command line supports (the netdev and
  device options are built by :mod:`.command`, so they are checked exactly as at start); ``set_link`` for
  ``<link state>``;
* whatever the running guest cannot take is refused with ``VIR_ERR_OPERATION_INVALID`` saying it applies at
  next boot through the config (:func:`..common.live_refused`).

Config changes go through the driver's persist path (``_write_config``, the one define uses).  The live
definition records QEMU's ids as ``<alias name>`` (libvirt's convention): ``net<N>`` for NICs.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, Optional

from lxml import etree

from ... import constants as C
from ...errors import DriverError
from ...xml import devices_edit as dev
from ...xml.domain import DomainDef, Interface
from ...xml.metadata import get_metadata, set_metadata
from .. import common
from ..base import DomainRef
from . import optcheck
from .command import _Builder, _target_index, disk_bus
from .nic import NIC_MODELS
from .record import NicUse

if TYPE_CHECKING:
    from .driver import Dom

E = C.VIR_FROM_QEMU
UNPLUG_TIMEOUT = 10.0  # seconds a guest gets to release an unplugged device (libvirt waits 5 s)
_TARGET = re.compile(r"[a-z]{2,3}[a-z]{1,3}")
_NODE_PREFIX = "hp-"  # blockdev node names of hot-plugged disks: hp-<target>


def _err(code: int, detail: str) -> DriverError:
    return DriverError(code, detail, E)


def parse_qemu_opts(text: str, first_key: str) -> dict[str, Any]:
    """``virtio-net-pci,netdev=x,mac=y`` -> {first_key: 'virtio-net-pci', 'netdev': 'x', 'mac': 'y'} (',,' is ',')."""
    parts, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == ",":
            if text[i + 1:i + 2] == ",":
                cur.append(",")
                i += 2
                continue
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    out: dict[str, Any] = {first_key: parts[0]}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        out[k] = v
    return out


_BOOL_KEYS = frozenset({"vhost"})


def _typed(opts: dict[str, Any]) -> dict[str, Any]:
    """QMP's netdev_add is typed: on/off options become booleans."""
    return {k: (v == "on") if k in _BOOL_KEYS else v for k, v in opts.items()}


class QemuHotplugOps:
    """Mixed into :class:`guiapp.backend.drivers.qemu.driver.QemuDriver`."""

    if TYPE_CHECKING:  # provided by QemuDriver
        lock: Any
        dirs: Any
        _net_run: Any
        _doms: dict[str, Dom]

        def _find(self, ref: DomainRef) -> Dom: ...
        def _affect(self, dom: Dom, flags: int, live_bit: int, config_bit: int) -> tuple[bool, bool]: ...
        def _write_config(self, dom: Dom, defn: DomainDef) -> None: ...
        def _store_config(self, defn: DomainDef) -> None: ...
        def _qmp(self, dom: Dom, cmd: str, args: Optional[dict[str, Any]] = None, *, timeout: float = 30.0,
                 fd: Optional[tuple[int, str]] = None) -> Any: ...
        def _set_live(self, dom: Dom, live: DomainDef) -> None: ...
        def _save_record(self, dom: Dom) -> None: ...
        def _sync(self, attach: bool = True) -> None: ...
        def _emit(self, dom: Dom, event: int, detail: int) -> None: ...
        def _bridge_for_network(self, network: str) -> str: ...
        def _bridge_helper(self) -> Optional[Callable[[str, str], str]]: ...
        def _free_tap_names(self) -> Callable[[int], str]: ...
        def _autostart_path(self, name: str) -> Any: ...

    # -- DEVICE_DELETED ------------------------------------------------------------------------

    def _unplug_waits(self) -> dict[tuple[str, str], threading.Event]:
        waits = self.__dict__.get("_hp_waits")
        if waits is None:
            waits = self.__dict__["_hp_waits"] = {}
        return waits

    def _device_deleted(self, name: str, data: dict[str, Any]) -> None:
        """QEMU's DEVICE_DELETED for domain ``name`` (called from the monitor's event sink)."""
        ev = self._unplug_waits().get((name, str(data.get("device"))))
        if ev is not None:
            ev.set()

    def _device_present(self, dom: Dom, dev_id: str) -> bool:
        children = self._qmp(dom, "qom-list", {"path": "/machine/peripheral"})
        return any(c.get("name") == dev_id for c in children)

    def _unplug(self, dom: Dom, dev_id: str) -> None:
        """device_del ``dev_id`` and wait until QEMU reports it gone (the guest must release it)."""
        ev = threading.Event()
        key = (dom.name, dev_id)
        self._unplug_waits()[key] = ev
        try:
            self._qmp(dom, "device_del", {"id": dev_id})
            deadline = time.monotonic() + UNPLUG_TIMEOUT
            while not ev.wait(0.2):  # without our own monitor (another process holds it): look at QOM
                if not self._device_present(dom, dev_id):
                    return
                if time.monotonic() > deadline:
                    raise _err(C.VIR_ERR_OPERATION_TIMEOUT,
                               f"the guest did not release device '{dev_id}' within {UNPLUG_TIMEOUT:g} s "
                               f"(it needs ACPI hotplug support, <features><acpi/>); the unplug request stays "
                               f"pending in the guest")
        finally:
            self._unplug_waits().pop(key, None)

    # -- common shape of the three device operations ---------------------------------------------

    def _device_op(self, ref: DomainRef, xml: str, flags: int, allowed: int, func: str,
                   edit: Callable[[DomainDef, etree._Element], tuple[DomainDef, etree._Element]],
                   live_op: Callable[[Dom, DomainDef, DomainDef, etree._Element], DomainDef]) -> None:
        common.check_flags(flags, allowed, func, E)
        want = dev.parse_device(xml)
        with self.lock():
            dom = self._find(ref)
            live, config = self._affect(dom, flags, C.VIR_DOMAIN_AFFECT_LIVE, C.VIR_DOMAIN_AFFECT_CONFIG)
            new_cfg = None
            if config:
                assert dom.config is not None
                new_cfg, want = edit(dom.config, want)  # checked (and a MAC generated) before anything changes
                _check_runnable(new_cfg)
            if live:
                assert dom.live is not None
                cur = _with_aliases(dom.live)
                new_live, el = edit(cur, deepcopy_el(want))
                final = live_op(dom, cur, new_live, el)
                self._set_live(dom, final)
                self._save_record(dom)
            if new_cfg is not None:
                self._write_config(dom, new_cfg)

    def domain_attach_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        self._device_op(ref, xml, flags, common.DEVICE_FLAGS, "virDomainAttachDeviceFlags",
                        dev.attach_device, self._live_attach)

    def domain_detach_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        def detach(d: DomainDef, want: etree._Element) -> tuple[DomainDef, etree._Element]:
            return dev.detach_device(d, want)
        self._device_op(ref, xml, flags, common.DEVICE_FLAGS, "virDomainDetachDeviceFlags",
                        detach, self._live_detach)

    def domain_update_device(self, ref: DomainRef, xml: str, flags: int) -> None:
        def update(d: DomainDef, want: etree._Element) -> tuple[DomainDef, etree._Element]:
            new, _old, el = dev.update_device(d, want)
            return new, el
        self._device_op(ref, xml, flags, common.UPDATE_DEVICE_FLAGS, "virDomainUpdateDeviceFlags",
                        update, self._live_update)

    # -- live attach ------------------------------------------------------------------------------

    def _live_attach(self, dom: Dom, cur: DomainDef, new: DomainDef, el: etree._Element) -> DomainDef:
        tag = el.tag
        if tag == "disk":
            disk = next(d for d in new.disks if d.element is el)
            self._hotplug_disk(dom, new, disk)
            return new
        if tag == "interface":
            iface = next(i for i in new.interfaces if i.element is el)
            self._hotplug_nic(dom, cur, new, iface)
            return new
        raise common.live_refused(f"a <{tag}> device", E)

    def _hotplug_disk(self, dom: Dom, d: DomainDef, disk: Any) -> None:
        target = disk.target or ""
        if not _TARGET.fullmatch(target):
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"disk target {target!r} is not a disk name such as vdb or sdc")
        bus = disk_bus(disk)
        cd = disk.device == "cdrom"
        if bus not in ("virtio", "scsi", "usb") or (cd and bus == "virtio"):
            raise common.live_refused(f"a {disk.device} on the {bus} bus", E)
        if disk.type not in ("file", "block"):
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"disk type '{disk.type}' of {target} cannot be hot-plugged; "
                                                     f"use 'file' or 'block'")
        if not disk.source:
            raise _err(C.VIR_ERR_NO_SOURCE, f"disk {target} needs a <source> to be hot-plugged")
        path = optcheck.abs_path(disk.source, f"<source> of disk {target}")
        if not os.path.exists(path):
            raise _err(C.VIR_ERR_NO_SOURCE, f"source of disk {target} '{path}' does not exist")
        fmt = optcheck.disk_format(disk.format or "raw", target)
        node = _NODE_PREFIX + target
        readonly = bool(disk.readonly or cd)
        proto = "host_device" if disk.type == "block" else "file"
        device: dict[str, Any] = {"drive": node, "id": target}
        if bus == "virtio":
            device["driver"] = "virtio-blk-pci"
        elif bus == "scsi":
            self._ensure_controller(dom, "scsi0", "virtio-scsi-pci")
            device.update(driver="scsi-cd" if cd else "scsi-hd", bus="scsi0.0", channel=0, lun=_target_index(target))
            device["scsi-id"] = 0
        else:
            self._ensure_controller(dom, "usb-hp", "qemu-xhci")
            device.update(driver="usb-storage", bus="usb-hp.0")
        if disk.boot_order:
            device["bootindex"] = disk.boot_order
        self._qmp(dom, "blockdev-add", {"driver": fmt, "node-name": node, "read-only": readonly,
                                        "file": {"driver": proto, "filename": path, "read-only": readonly}})
        try:
            self._qmp(dom, "device_add", device)
        except DriverError:
            with contextlib.suppress(DriverError):
                self._qmp(dom, "blockdev-del", {"node-name": node})
            raise

    def _ensure_controller(self, dom: Dom, dev_id: str, driver: str) -> None:
        if not self._device_present(dom, dev_id):
            self._qmp(dom, "device_add", {"driver": driver, "id": dev_id})

    def _hotplug_nic(self, dom: Dom, cur: DomainDef, new: DomainDef, iface: Interface) -> None:
        used = {_alias(i.element) for i in cur.interfaces}
        n = next(k for k in range(len(used) + 1) if f"net{k}" not in used)
        argv, taps = self._nic_options(new, iface)
        netdev = _typed(parse_qemu_opts(argv[1], "type"))
        device = parse_qemu_opts(argv[3], "driver")
        netdev["id"] = device["netdev"] = f"hostnet{n}"
        device["id"] = f"net{n}"
        from .taps import _netdev_exists
        created = [t.ifname for t in taps if t.bridge and not _netdev_exists(t.ifname)]  # QEMU makes these
        self._qmp(dom, "netdev_add", netdev)
        try:
            self._qmp(dom, "device_add", device)
        except DriverError:
            with contextlib.suppress(DriverError):
                self._qmp(dom, "netdev_del", {"id": f"hostnet{n}"})
            raise
        _set_alias(iface.element, f"net{n}")
        rec = dom.record
        assert rec is not None
        for t in taps:
            if t.bridge:
                self._enslave_tap(t.ifname, t.bridge, iface.mac)
            iface.target_dev = t.ifname
            rec.taps.append(t.ifname)
        rec.own_taps.extend(created)  # removed at stop if they outlive QEMU, as the start's own taps are
        if iface.type == "network" and iface.network:
            if rec.nets is None:  # a record written before nets existed: start from its live XML
                from .networks import record_nics
                rec.nets = record_nics(rec)
            rec.nets.append(NicUse(iface.network, iface.mac, iface.target_dev))
        new.refresh()

    def _enslave_tap(self, ifname: str, bridge: str, mac: str) -> None:
        from .networks import attach_tap
        attach_tap(self._net_run, ifname, bridge, mac)

    def _nic_options(self, d: DomainDef, iface: Interface) -> tuple[list[str], list[Any]]:
        """The command line's ``-netdev``/``-device`` pair for one interface (all its checks), and its taps."""
        if (iface.model or "e1000") not in NIC_MODELS:
            raise _err(C.VIR_ERR_CONFIG_UNSUPPORTED, f"NIC model '{iface.model}' is not supported; use one of "
                                                     f"{', '.join(sorted(NIC_MODELS))}")
        one = SimpleNamespace(interfaces=[iface], uuid=d.uuid, name=d.name)
        b = _Builder(one, None, "tcg", self._bridge_for_network, self._free_tap_names(),  # type: ignore[arg-type]
                     True, self._bridge_helper())
        b.nics()
        return b.argv, b.taps

    # -- live detach -------------------------------------------------------------------------------

    def _live_detach(self, dom: Dom, cur: DomainDef, new: DomainDef, el: etree._Element) -> DomainDef:
        tag = el.tag
        if tag == "disk":
            target = el.find("target").get("dev")
            disk = next(d for d in cur.disks if d.target == target)
            bus = disk_bus(disk)
            if bus not in ("virtio", "scsi", "usb"):
                raise common.live_refused(f"a {disk.device} on the {bus} bus", E)
            self._unplug(dom, target)
            with contextlib.suppress(DriverError):  # a disk plugged at start was a -drive: QEMU removed it
                self._qmp(dom, "blockdev-del", {"node-name": _NODE_PREFIX + target})
            return new
        if tag == "interface":
            dev_id = _alias(el)
            self._unplug(dom, dev_id)
            with contextlib.suppress(DriverError):
                self._qmp(dom, "netdev_del", {"id": "host" + dev_id})
            rec = dom.record
            assert rec is not None
            tap = el.find("target")
            if tap is not None and tap.get("dev") in rec.taps:
                rec.taps.remove(tap.get("dev"))
            mac = el.find("mac")
            if mac is not None:
                from .networks import record_nics
                rec.nets = [x for x in record_nics(rec) if x.mac != mac.get("address")]
            return new
        raise common.live_refused(f"a <{tag}> device", E)

    # -- live update ---------------------------------------------------------------------------------

    def _live_update(self, dom: Dom, cur: DomainDef, new: DomainDef, el: etree._Element) -> DomainDef:
        tag = el.tag
        old = dev.find_device(cur, el)
        assert old is not None
        if tag == "disk":
            disk = next(d for d in new.disks if d.element is el)
            if disk.device not in ("cdrom", "floppy"):
                raise common.live_refused(f"disk {disk.target} (only removable media change live)", E)
            if _differs(old, el, {"source", "alias", "address"}):
                raise common.live_refused(f"anything but the medium of {disk.device} {disk.target}", E)
            self._change_medium(dom, disk)
            return new
        if tag == "interface":
            if _differs(old, el, {"link", "alias", "address", "target"}):
                raise common.live_refused("an interface's source, model or other settings (only <link state> "
                                          "changes live)", E)
            link = el.find("link")
            up = link is None or link.get("state") != "down"
            self._qmp(dom, "set_link", {"name": _alias(old), "up": up})
            for keep in ("alias", "target"):  # runtime facts the new element does not carry
                if el.find(keep) is None and old.find(keep) is not None:
                    el.append(deepcopy_el(old.find(keep)))
            new.refresh()
            return new
        raise common.live_refused(f"a <{tag}> device", E)

    def _change_medium(self, dom: Dom, disk: Any) -> None:
        target = disk.target
        if not disk.source:
            self._qmp(dom, "eject", {"id": target, "force": True})
            return
        path = optcheck.abs_path(disk.source, f"<source> of {disk.device} {target}")
        if not os.path.exists(path):
            raise _err(C.VIR_ERR_NO_SOURCE, f"medium '{path}' for {disk.device} {target} does not exist")
        fmt = optcheck.disk_format(disk.format or "raw", target)
        self._qmp(dom, "blockdev-change-medium", {"id": target, "filename": path, "format": fmt,
                                                  "read-only-mode": "read-only"})

    # -- rename and metadata ---------------------------------------------------------------------------

    def domain_rename(self, ref: DomainRef, new_name: str, flags: int) -> DomainRef:
        common.check_flags(flags, 0, "virDomainRename", E)
        with self.lock():
            dom = self._find(ref)
            self._sync(attach=False)
            common.check_rename(dom.name, new_name, active=dom.active, persistent=dom.config is not None,
                                taken=new_name in self._doms, error_domain=E)
            assert dom.config is not None
            new = dom.config.copy()
            new.name = new_name
            old_name = dom.name
            self._store_config(new)  # the persist path define uses (atomic, read back)
            old_path = self._autostart_path(old_name)
            if old_path.exists():
                os.replace(old_path, self._autostart_path(new_name))
            if dom.record is not None:
                dom.record.name = new_name
                self._save_record(dom)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.dirs.config_file(old_name))
            self._sync(attach=False)
            moved = self._doms.get(new_name)
            assert moved is not None
        self._emit(dom, C.VIR_DOMAIN_EVENT_UNDEFINED, C.VIR_DOMAIN_EVENT_UNDEFINED_RENAMED)
        self._emit(moved, C.VIR_DOMAIN_EVENT_DEFINED, C.VIR_DOMAIN_EVENT_DEFINED_RENAMED)
        return moved.ref()

    def domain_set_metadata(self, ref: DomainRef, type: int, metadata: Optional[str], key: Optional[str],
                            uri: Optional[str], flags: int) -> None:
        common.check_flags(flags, common.AFFECT, "virDomainSetMetadata", E)
        with self.lock():
            dom = self._find(ref)
            live, config = self._affect(dom, flags, C.VIR_DOMAIN_AFFECT_LIVE, C.VIR_DOMAIN_AFFECT_CONFIG)
            new_cfg = set_metadata(dom.config, type, metadata, key, uri) if config else None  # type: ignore[arg-type]
            if live:
                assert dom.live is not None
                self._set_live(dom, set_metadata(dom.live, type, metadata, key, uri))
                self._save_record(dom)
            if new_cfg is not None:
                self._write_config(dom, new_cfg)

    def domain_get_metadata(self, ref: DomainRef, type: int, uri: Optional[str], flags: int) -> str:
        common.check_flags(flags, common.AFFECT, "virDomainGetMetadata", E)
        dom = self._find(ref)
        live = common.resolve_one(flags, active=dom.active, persistent=dom.config is not None, error_domain=E)
        d = dom.live if live else dom.config
        assert d is not None
        return get_metadata(d, type, uri)


# -- helpers ------------------------------------------------------------------------------------------

def deepcopy_el(el: etree._Element) -> etree._Element:
    from copy import deepcopy
    return deepcopy(el)


def _alias(el: etree._Element) -> str:
    a = el.find("alias")
    return a.get("name", "") if a is not None else ""


def _set_alias(el: etree._Element, name: str) -> None:
    a = el.find("alias")
    if a is None:
        a = etree.SubElement(el, "alias")
    a.set("name", name)


def _with_aliases(live: DomainDef) -> DomainDef:
    """A copy of the live definition where every NIC names its QEMU id (``net<i>`` as started)."""
    new = live.copy()
    changed = False
    for i, el in enumerate(new.root.iterfind("devices/interface")):
        if el.find("alias") is None:
            _set_alias(el, f"net{i}")
            changed = True
    if changed:
        etree.indent(new.root, space="  ")
        new.refresh()
    return new


def _differs(a: etree._Element, b: etree._Element, ignore: set[str]) -> bool:
    def canon(el: etree._Element) -> tuple:
        kids = tuple(sorted(canon(c) for c in el if isinstance(c.tag, str) and c.tag not in ignore))
        return (el.tag, tuple(sorted(el.attrib.items())), (el.text or "").strip(), kids)
    return canon(a) != canon(b)


def _check_runnable(defn: DomainDef) -> None:
    """Refuse a config QEMU could never start (the check define makes)."""
    from .capabilities import known_machines
    from .command import build_command
    from .lifecycle import _dummy_paths
    build_command(defn.copy(), _dummy_paths(), kvm_usable=True, check_files=False, machines=known_machines)


__all__ = ["QemuHotplugOps", "parse_qemu_opts"]
