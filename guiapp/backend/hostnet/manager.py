"""HostNetworks: virtual networks made real on a host (bridge, addresses, dnsmasq, NAT), kept on disk.

Layout (``config_dir`` survives reboots, ``runtime_dir`` is e.g. under /run)::

    config_dir/NAME.xml              persistent definitions
    config_dir/autostart/NAME        present when NAME starts at connection open
    config_dir/.initialized          the 'default' network was installed once (undefining it sticks)
    runtime_dir/NAME.xml             definition of a running network (its run state)
    runtime_dir/NAME.state           firewall backend used, so destroy removes the same rules
    runtime_dir/UUID.{conf,pid,leases,hostsfile,addnhosts}   dnsmasq's files (named by UUID: see dnsmasq.py)
    runtime_dir/.lock                serializes processes sharing these directories

Every operation takes ``.lock`` (flock) and re-reads the directories, so
several connections and processes agree on which networks exist and run.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import threading
from collections.abc import Iterator
from typing import Any, Optional

from .. import constants as C
from ..errors import DriverError
from ..filestore import atomic_write, check_file_name, clean_temp_files, store_document
from ..xml.network import HOST_DEFAULT_NETWORK_XML, NetworkDef, parse_network
from ..xml.network_forward import is_direct
from . import direct, dnsmasq, firewall, legacy, links, tap
from .runner import Runner
from .table import GuestNicsFn, NetworkEntry, NetworkTable, UsersFn

_FROM = C.VIR_FROM_NETWORK

DEFAULT_SYSTEM_RUNTIME_DIR = "/run/guiapp/network"
DEFAULT_SYSTEM_CONFIG_DIR = "/etc/guiapp/qemu/networks"

_shared: dict[tuple[str, str, Optional[str]], HostNetworks] = {}
_shared_lock = threading.Lock()


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return None


def _write(path: str, text: str) -> None:
    atomic_write(path, text, mode=0o644, error_domain=_FROM)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def bridge_mac(d: NetworkDef) -> str:
    """A stable locally-chosen MAC for the bridge of ``d`` (52:54:00 + bytes of its UUID)."""
    u = d.uuid
    return f"52:54:00:{u[0]:02x}:{u[1]:02x}:{u[2]:02x}"


class HostNetworks(NetworkTable):
    """The networks of one host (or network namespace), with the host side done for real.

    ``runtime_dir``/``config_dir``: see the module docstring.  ``netns`` runs
    everything inside that network namespace (tests); ``firewall``: 'auto',
    'nft' or 'iptables'.  ``users(name)`` lists running guests on a network
    (destroy refuses while there are some).  ``install_default`` defines the
    seed's ``default`` network (NAT, 192.168.22.0/24, autostart) the first time
    ``config_dir`` is used.
    """

    def __init__(self, runtime_dir: str, config_dir: str, *, netns: Optional[str] = None,
                 runner: Optional[Runner] = None, firewall_backend: str = "auto",
                 users: Optional[UsersFn] = None, guest_nics: Optional[GuestNicsFn] = None,
                 install_default: bool = True, dnsmasq_user: Optional[str] = None) -> None:
        super().__init__(users=users, guest_nics=guest_nics)
        self.runtime_dir = os.path.abspath(runtime_dir)
        self.config_dir = os.path.abspath(config_dir)
        self.run = runner or Runner(netns)
        self.firewall_backend = firewall_backend
        self.dnsmasq_user = dnsmasq_user
        self._autostart_dir = os.path.join(self.config_dir, "autostart")
        try:
            os.makedirs(self.runtime_dir, mode=0o755, exist_ok=True)
            os.makedirs(self._autostart_dir, mode=0o755, exist_ok=True)
        except OSError as exc:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"cannot create the network directories "
                              f"{self.runtime_dir} and {self.config_dir}: {exc.strerror}", _FROM) from None
        for d in (self.config_dir, self._autostart_dir, self.runtime_dir):
            clean_temp_files(d)  # left by a define killed half-way (live writers are spared)
        if install_default:
            self.install_default_network()

    def install_default_network(self) -> bool:
        """Define the ``default`` network (autostart) once per host, as libvirt's package does at install time;
        undefining it sticks.  True when it was defined now.  Never done by opening a connection."""
        marker = os.path.join(self.config_dir, ".initialized")
        if os.path.exists(marker):
            return False
        added = False
        with self._transaction():
            if "default" not in self._by_name:
                d = parse_network(HOST_DEFAULT_NETWORK_XML)
                e = NetworkEntry(d, None, autostart=True)
                self._save_config(e)
                self._add(e)
                added = True
            _write(marker, "")
        return added

    @classmethod
    def shared(cls, runtime_dir: str = DEFAULT_SYSTEM_RUNTIME_DIR, config_dir: str = DEFAULT_SYSTEM_CONFIG_DIR,
               netns: Optional[str] = None, **kwargs: Any) -> HostNetworks:
        """One manager per (directories, netns) in this process: what every ``qemu:///system`` connection uses."""
        key = (os.path.abspath(runtime_dir), os.path.abspath(config_dir), netns)
        with _shared_lock:
            mgr = _shared.get(key)
            if mgr is None:
                mgr = _shared[key] = cls(runtime_dir, config_dir, netns=netns, **kwargs)
            return mgr

    # -- on-disk state ---------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            fd = os.open(os.path.join(self.runtime_dir, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._reload()
                yield
            finally:
                os.close(fd)

    def _load_file(self, path: str) -> Optional[NetworkDef]:
        text = _read(path)
        if text is None:
            return None
        try:
            return parse_network(text)
        except DriverError:
            return None  # a damaged file is skipped rather than breaking every call

    def _reload(self) -> None:
        self._by_name.clear()
        self._by_uuid.clear()
        configs: dict[str, NetworkDef] = {}
        for fn in sorted(os.listdir(self.config_dir)):
            if fn.endswith(".xml"):
                d = self._load_file(os.path.join(self.config_dir, fn))
                if d is not None and fn == f"{d.name}.xml":
                    configs[d.name] = d
        lives: dict[str, NetworkDef] = {}
        for fn in sorted(os.listdir(self.runtime_dir)):
            if fn.endswith(".xml"):
                d = self._load_file(os.path.join(self.runtime_dir, fn))
                if d is not None and fn == f"{d.name}.xml":
                    lives[d.name] = d
        for name in sorted(set(configs) | set(lives)):
            auto = os.path.exists(os.path.join(self._autostart_dir, name))
            self._add(NetworkEntry(configs.get(name), lives.get(name), auto and name in configs))

    def _save_config(self, e: NetworkEntry) -> None:
        assert e.config is not None
        path = os.path.join(self.config_dir, f"{e.name}.xml")
        check_file_name(e.name, ".xml", "network", _FROM)

        def read_back(raw: bytes) -> None:
            back = parse_network(raw)
            if back.name != e.name or back.uuid != e.config.uuid:  # type: ignore[union-attr]
                raise DriverError(C.VIR_ERR_XML_ERROR, f"it reads back as network '{back.name}'", _FROM)
        store_document(path, e.config.to_xml(), read_back, f"network '{e.name}'", _FROM)
        try:
            mark = os.path.join(self._autostart_dir, e.name)
            if e.autostart:
                _write(mark, "")
            else:
                _unlink(mark)
        except OSError as exc:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"cannot save network '{e.name}' in {self.config_dir}: "
                              f"{exc.strerror}", _FROM) from None

    def _delete_config(self, name: str) -> None:
        _unlink(os.path.join(self._autostart_dir, name))
        _unlink(os.path.join(self.config_dir, f"{name}.xml"))

    def _started(self, e: NetworkEntry) -> None:
        _write(os.path.join(self.runtime_dir, f"{e.name}.xml"), e.live.to_xml())  # type: ignore[union-attr]

    def _stopped(self, e: NetworkEntry) -> None:
        _unlink(os.path.join(self.runtime_dir, f"{e.name}.xml"))

    def reconcile(self) -> list[str]:
        """Forget run state of networks whose bridge has gone (e.g. removed by hand); returns their names."""
        gone = []
        with self._transaction():
            for e in list(self._by_name.values()):
                if e.live is not None and e.live.bridge and not links.link_exists(self.run, e.live.bridge):
                    self._host_stop(e.live)
                    self._stopped(e)
                    e.live = None
                    gone.append(e.name)
        return gone

    # -- host side ---------------------------------------------------------------

    def files(self, d: NetworkDef) -> dnsmasq.DnsmasqFiles:
        """dnsmasq's files of network ``d`` (named by its UUID)."""
        return dnsmasq.files_for(self.runtime_dir, d)

    def _state_path(self, name: str) -> str:
        return os.path.join(self.runtime_dir, f"{name}.state")

    def _host_link_exists(self, name: str) -> bool:
        return links.link_exists(self.run, name)

    def _host_subnet_user(self, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Optional[str]:
        ours = {e.live.bridge for e in self._by_name.values() if e.live is not None and e.live.bridge}
        return links.route_user(self.run, net, ours)

    def _host_start(self, d: NetworkDef) -> None:
        if is_direct(d.forward_mode):
            direct.check_start(self.run, d)  # nothing of ours to make: the host's bridge or devices
            return
        br = d.bridge
        assert br
        backend = firewall.pick_backend(self.firewall_backend)
        files = self.files(d)
        undo: list[Any] = []
        try:
            # a fixed MAC, or the bridge would take the lowest of its taps' and change as guests come and go
            links.create_bridge(self.run, br, stp=d.stp, delay=d.delay, mac=d.mac or bridge_mac(d))
            undo.append(lambda: links.delete_link(self.run, br))
            for ip in d.ips:
                links.add_address(self.run, br, ip.interface, ip.address.version)
            links.set_up(self.run, br)
            _write(self._state_path(d.name), f"firewall={backend or ''}\n")
            undo.append(lambda: _unlink(self._state_path(d.name)))
            firewall.add(self.run, d, backend)
            undo.append(lambda: firewall.remove(self.run, d.uuid, backend))
            if d.forward_mode in ("nat", "route"):
                for fam in sorted({ip.address.version for ip in d.ips}):
                    links.enable_forwarding(self.run, fam)
            if dnsmasq.needed(d):
                def stop_dnsmasq() -> None:
                    dnsmasq.stop(files)
                    dnsmasq.remove_files(files)
                undo.append(stop_dnsmasq)
                dnsmasq.start(self.run, d, files, self.dnsmasq_user)
        except BaseException:
            for step in reversed(undo):
                try:
                    step()
                except Exception:  # undo is best effort; the first error is the one to report
                    pass
            raise

    def _host_stop(self, d: NetworkDef) -> None:
        if is_direct(d.forward_mode):
            return  # the bridge and devices are the host's: never removed
        files = self.files(d)
        dnsmasq.stop(files)
        dnsmasq.remove_files(files)
        state = _read(self._state_path(d.name)) or ""
        backend = None
        for line in state.splitlines():
            if line.startswith("firewall="):
                backend = line.split("=", 1)[1] or None
        try:
            firewall.remove(self.run, d.uuid, backend)
            others = [e.live.bridge for e in self._by_name.values()
                      if e.live is not None and e.live.bridge and e.uuid != d.uuid]
            legacy.remove_legacy(self.run, self.runtime_dir, d, backend, others)
        except DriverError:
            pass
        if d.bridge:
            links.delete_link(self.run, d.bridge)
        _unlink(self._state_path(d.name))

    def _leases(self, e: NetworkEntry) -> list[dict[str, Any]]:
        return dnsmasq.read_leases(self.files(e.live), e.live)  # type: ignore[arg-type]

    # -- what the QEMU driver uses for guests --------------------------------------------

    def create_tap(self, name: Optional[str], bridge: str, mac: str) -> tuple[str, int]:
        """A tap (``name`` or ``vnetN``) on ``bridge`` for a guest NIC with MAC ``mac`` -> (tapname, fd)."""
        return tap.create_tap(self.run, name, bridge, mac)

    def delete_tap(self, name: str) -> None:
        tap.delete_tap(self.run, name)

    def dnsmasq_pid(self, name: str) -> Optional[int]:
        """The pid of the dnsmasq of the running network ``name``, or None."""
        with self._transaction():
            e = self._by_name.get(name)
            live = e.live if e is not None else None
        return dnsmasq.read_pid(self.files(live)) if live is not None else None

    def firewall_active(self, name: str) -> bool:
        """Whether any firewall rule of network ``name`` is installed (its table, or rules with its tag)."""
        with self._transaction():
            e = self._by_name.get(name)
            if e is None:
                raise DriverError(C.VIR_ERR_NO_NETWORK, f"no network with matching name '{name}'", _FROM)
            uuid = e.uuid
        state = _read(self._state_path(name)) or ""
        backend = next((ln.split("=", 1)[1] for ln in state.splitlines() if ln.startswith("firewall=")), "")
        return firewall.rules_present(self.run, uuid, backend or firewall.pick_backend(self.firewall_backend))


__all__ = ["HostNetworks", "DEFAULT_SYSTEM_RUNTIME_DIR", "DEFAULT_SYSTEM_CONFIG_DIR"]
