"""A stand-in for the ``xl`` toolstack, for tests on machines without a hypervisor.

It applies to a real XenStore daemon (``$XENSTORED_PATH``) the changes libxl
makes for each command, and keeps the ``xl list`` table (run state, memory,
vCPUs, CPU time) in a JSON file (``$FAKE_XL_STATE``), since XenStore holds no
run state.  Guests are simulated: a shutdown request written to
``control/shutdown`` is acknowledged (the guest writes "") and the domain is torn
down, as a PV guest with working drivers would do.

It parses xl.cfg with its own small reader (Python literals), independent of
the driver's parser.  Failure injection: ``$FAKE_XL_FAIL=command:message`` makes
that command fail with exit 1 and ``message`` on stderr; ``$FAKE_XL_HANG=command``
makes it sleep for an hour.  With ``$FAKE_XL_REAL`` (the real xl) and ``$FAKE_XL_SHIM``
(the LD_PRELOAD shim), ``create`` first runs the real ``xl -N create`` (dry run) on
the config and fails with its message if the real parser rejects it.

Run as ``python fake_xl.py ARGS...`` (the fixture writes an ``xl`` wrapper).
"""

from __future__ import annotations

import ast
import fcntl
import json
import os
import subprocess
import sys
import time
import uuid as uuidlib

from pyxs import Client
from pyxs._internal import NUL, Op, Packet, next_rq_id

STATE = os.environ.get("FAKE_XL_STATE", "/tmp/fake-xl-state.json")
INFO = {
    "host": "fakexen", "release": "6.1.0-fake", "version": "#1 SMP", "machine": "x86_64",
    "nr_cpus": "2", "max_cpu_id": "1", "nr_nodes": "1", "cores_per_socket": "2", "threads_per_core": "1",
    "cpu_mhz": "2000.000", "hw_caps": "178bf3ff:f6d8320b:2c100800:00000121:0000000f:009c07ab:00000000:00000100",
    "virt_caps": "pv hvm hap shadow", "total_memory": "4096", "free_memory": "2048",
    "sharing_freed_memory": "0", "sharing_used_memory": "0", "outstanding_claims": "0", "free_cpus": "0",
    "xen_major": "4", "xen_minor": "17", "xen_extra": ".3-fake", "xen_version": "4.17.3-fake",
    "xen_caps": "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64",
    "xen_scheduler": "credit2", "xen_pagesize": "4096", "platform_params": "virt_start=0xffff800000000000",
    "xen_changeset": "", "xen_commandline": "placeholder", "cc_compiler": "gcc", "xend_config_format": "4",
}


def die(msg: str, code: int = 1) -> None:
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.exit(code)


# --------------------------------------------------------------------- XenStore

class Store:
    def __init__(self) -> None:
        self.c = Client(unix_socket_path=os.environ["XENSTORED_PATH"])
        self.c.connect()

    def raw(self, op: int, payload: bytes) -> bytes:
        packet = self.c.router.send(Packet(op, payload, next_rq_id(), 0)).get()
        if packet.op == Op.ERROR:
            raise OSError(packet.payload.rstrip(NUL).decode())
        return packet.payload

    def write(self, path: str, value: str) -> None:
        self.raw(Op.WRITE, path.encode() + NUL + value.encode())  # empty values too (pyxs refuses them)

    def read(self, path: str) -> str | None:
        try:
            return self.raw(Op.READ, path.encode() + NUL).decode()
        except OSError:
            return None

    def rm(self, path: str) -> None:
        try:
            self.raw(Op.RM, path.encode() + NUL)
        except OSError:
            pass

    def ls(self, path: str) -> list[str]:
        try:
            payload = self.raw(Op.DIRECTORY, path.encode() + NUL).rstrip(NUL)
        except OSError:
            return []
        return payload.decode().split("\0") if payload else []

    def introduce(self, domid: int) -> None:
        self.raw(Op.INTRODUCE, b"%d\x00%d\x00%d\x00" % (domid, 1000 + domid, 1))

    def release(self, domid: int) -> None:
        self.raw(Op.RELEASE, b"%d\x00" % domid)

    def close(self) -> None:
        self.c.close()


# --------------------------------------------------------------------- state file

class State:
    def __init__(self) -> None:
        self.lock = open(STATE + ".lock", "a+")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            with open(STATE) as f:
                self.data = json.load(f)
        except (OSError, ValueError):
            self.data = {"next_domid": 1, "domains": {}}

    def save(self) -> None:
        tmp = STATE + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f)
        os.replace(tmp, STATE)

    @property
    def domains(self) -> dict:
        return self.data["domains"]

    def find(self, ref: str) -> tuple[int, dict]:
        for key, dom in self.domains.items():
            if key == ref or dom["name"] == ref:
                return int(key), dom
        die(f"{ref} is an invalid domain identifier (rc=-6)")
        raise AssertionError


def ensure_dom0(st: State, xs: Store) -> None:
    if "0" in st.domains:
        return
    target = xs.read("/local/domain/0/memory/target")
    cpus = xs.ls("/local/domain/0/cpu")
    st.domains["0"] = {"name": xs.read("/local/domain/0/name") or "Domain-0",
                       "mem": int(target) // 1024 if target else 1024, "vcpus": len(cpus) or 1,
                       "state": "r-----", "time": 12.5, "uuid": "00000000-0000-0000-0000-000000000000", "cfg": ""}


# --------------------------------------------------------------------- xl.cfg

def parse_cfg(text: str) -> dict:
    """Python-literal reading of xl.cfg: key = "str" | number | [ list ] (lists may span lines)."""
    out: dict = {}
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line + "\n"
        if pending.count("[") > pending.count("]"):
            continue
        key, eq, value = pending.partition("=")
        pending = ""
        if not eq:
            die(f"config parsing error near `{key.strip()}': syntax error")
        try:
            out[key.strip()] = ast.literal_eval(value.strip().rstrip(";"))
        except (ValueError, SyntaxError):
            die(f"config parsing error near `{value.strip()}': syntax error, unexpected IDENT")
    return out


# --------------------------------------------------------------------- domains

def build(st: State, xs: Store, cfg_text: str, paused: bool, domid: int | None = None) -> int:
    cfg = parse_cfg(cfg_text)
    name = cfg.get("name")
    if not name:
        die("Domain name must be specified.")
    for dom in st.domains.values():
        if dom["name"] == name:
            die(f"libxl: error: libxl_create.c:1234:libxl__domain_make: Domain with name \"{name}\" already exists.\n"
                f"libxl: error: libxl_create.c:1310:initiate_domain_create: cannot make domain: -6")
    kind = cfg.get("type") or cfg.get("builder") or "pv"
    if kind == "pv" and not cfg.get("kernel") and not cfg.get("bootloader"):
        die("libxl: error: libxl_dom.c:123:libxl__build_pv: no kernel specified for PV guest")
    memory = int(cfg.get("memory", 128))
    maxmem = int(cfg.get("maxmem", memory))
    vcpus = int(cfg.get("vcpus", 1))
    maxvcpus = int(cfg.get("maxvcpus", vcpus))
    uuid = str(cfg.get("uuid") or uuidlib.uuid4())
    if domid is None:
        domid = st.data["next_domid"]
        st.data["next_domid"] += 1
    base = f"/local/domain/{domid}"
    vm = f"/vm/{uuid}"
    xs.write(f"{base}/name", name)
    xs.write(f"{base}/domid", str(domid))
    xs.write(f"{base}/vm", vm)
    xs.write(f"{base}/memory/static-max", str(maxmem * 1024))
    xs.write(f"{base}/memory/target", str(memory * 1024))
    for n in range(maxvcpus):
        xs.write(f"{base}/cpu/{n}/availability", "online" if n < vcpus else "offline")
    xs.write(f"{base}/console/tty", f"/dev/pts/{domid + 10}")
    xs.write(f"{base}/control/shutdown", "")
    if kind == "hvm" and int(cfg.get("vnc", 0)) and int(cfg.get("vncunused", 1)):
        xs.write(f"{base}/console/vnc-port", str(5900 + domid))
    xs.write(f"{vm}/uuid", uuid)
    xs.write(f"{vm}/name", name)
    xs.write(f"{vm}/image/ostype", "hvm" if kind == "hvm" else "linux")
    xs.write(f"{vm}/start_time", f"{time.time():.2f}")
    xs.write(f"/libxl/{domid}/type", kind)
    xs.introduce(domid)
    st.domains[str(domid)] = {"name": name, "mem": memory, "vcpus": vcpus, "maxvcpus": maxvcpus,
                              "state": "--p---" if paused else "r-----", "time": 0.0, "uuid": uuid,
                              "cfg": cfg_text}
    return domid


def teardown(st: State, xs: Store, domid: int) -> None:
    dom = st.domains.pop(str(domid))
    xs.rm(f"/local/domain/{domid}")
    xs.rm(f"/vm/{dom['uuid']}")
    xs.rm(f"/libxl/{domid}")
    xs.release(domid)


def guest_ack(xs: Store, domid: int, request: str) -> None:
    """What libxl does (write the request) and what a PV guest does (acknowledge it with "")."""
    path = f"/local/domain/{domid}/control/shutdown"
    xs.write(path, request)
    if os.environ.get("FAKE_XL_GUEST") == "deaf":
        return  # a guest without PV drivers never answers
    xs.write(path, "")


def real_dry_run(cfg_path: str) -> None:
    """With $FAKE_XL_REAL (and $FAKE_XL_SHIM), every config is first parsed by the real ``xl -N create``."""
    real = os.environ.get("FAKE_XL_REAL")
    if not real:
        return
    env = dict(os.environ, LD_PRELOAD=os.environ.get("FAKE_XL_SHIM", ""))
    proc = subprocess.run([real, "-N", "create", cfg_path], capture_output=True, text=True, env=env, timeout=30)
    if proc.returncode != 0:
        die(f"the real xl -N create rejected {cfg_path}: {proc.stderr.strip()}")


def main(argv: list[str]) -> None:
    if not argv:
        die("Usage xl [-vfNtT] <subcommand> [args]")
    cmd = argv[0]
    fail = os.environ.get("FAKE_XL_FAIL", "")
    if fail.partition(":")[0] == cmd:
        die(fail.partition(":")[2] or f"{cmd} failed")
    if os.environ.get("FAKE_XL_HANG") == cmd:
        time.sleep(3600)
    if cmd == "info":
        width = max(len(k) for k in INFO)
        for k, v in INFO.items():
            print(f"{k:<{width}} : {v}")
        return
    st = State()
    xs = Store()
    try:
        ensure_dom0(st, xs)
        run(cmd, argv[1:], st, xs)
        st.save()
    finally:
        xs.close()


def run(cmd: str, args: list[str], st: State, xs: Store) -> None:
    opts = [a for a in args if a.startswith("-")]
    args = [a for a in args if not a.startswith("-")]
    if cmd == "list":
        print("Name                                        ID   Mem VCPUs\tState\tTime(s)")
        for key in sorted(st.domains, key=int):
            d = st.domains[key]
            if args and args[0] not in (key, d["name"]):
                continue
            if d["state"][0] == "r":
                d["time"] += 0.1
            print(f"{d['name']:<40} {int(key):5d} {d['mem']:5d} {d['vcpus']:5d}     {d['state']}  {d['time']:8.1f}")
        return
    if cmd in ("create", "restore"):
        if not args:
            die(f"{cmd}: missing file")
        try:
            text = open(args[-1]).read()
        except OSError as exc:
            die(f"Failed to read config file: {args[-1]}: {exc.strerror}")
        saved: dict = {}
        if cmd == "restore":
            try:
                saved = json.loads(text)
                text = saved["cfg"]
            except (ValueError, KeyError):
                die(f"File has wrong magic number - corrupt or for a different tool? ({args[-1]})")
        print(f"Parsing config from {args[-1]}", file=sys.stderr)
        if cmd == "create":
            real_dry_run(args[-1])
        domid = build(st, xs, text, paused="-p" in opts)
        if saved.get("target"):  # libxl restores the balloon as it was when saved
            xs.write(f"/local/domain/{domid}/memory/target", saved["target"])
            st.domains[str(domid)]["mem"] = int(saved["target"]) // 1024
        return
    if not args:
        die(f"{cmd}: missing domain")
    domid, dom = st.find(args[0])
    if cmd == "shutdown":
        guest_ack(xs, domid, "poweroff")
        if os.environ.get("FAKE_XL_GUEST") != "deaf":
            teardown(st, xs, domid)
    elif cmd == "reboot":
        guest_ack(xs, domid, "reboot")
        cfg_text = dom["cfg"]
        teardown(st, xs, domid)
        build(st, xs, cfg_text, paused=False)
    elif cmd == "destroy":
        teardown(st, xs, domid)
    elif cmd == "pause":
        dom["state"] = "--p---"
    elif cmd == "unpause":
        dom["state"] = "r-----"
    elif cmd == "save":
        if len(args) < 2:
            die("save: missing file")
        with open(args[1], "w") as f:
            json.dump({"magic": "fake-xl-save", "cfg": dom["cfg"], "name": dom["name"],
                       "target": xs.read(f"/local/domain/{domid}/memory/target")}, f)
        teardown(st, xs, domid)
    elif cmd in ("mem-set", "mem-max"):
        value = args[1].lower()
        kib = int(value[:-1]) if value.endswith("k") else int(value.rstrip("m")) * 1024
        base = f"/local/domain/{domid}/memory"
        if cmd == "mem-set":
            if kib > int(xs.read(f"{base}/static-max") or 0):
                die("libxl: error: libxl_mem.c:1234:libxl_set_memory_target: memory_dynamic_max must be less "
                    "than or equal to memory_static_max")
            xs.write(f"{base}/target", str(kib))
            dom["mem"] = kib // 1024
        else:
            xs.write(f"{base}/static-max", str(kib))
    elif cmd == "vcpu-set":
        n = int(args[1])
        cpus = xs.ls(f"/local/domain/{domid}/cpu")
        if n > len(cpus):
            die(f"Requested vcpus {n} > max {len(cpus)}")
        for i in range(len(cpus)):
            xs.write(f"/local/domain/{domid}/cpu/{i}/availability", "online" if i < n else "offline")
        dom["vcpus"] = n
    else:
        die(f"command not implemented: {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
