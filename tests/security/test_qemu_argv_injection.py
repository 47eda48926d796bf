"""Issue 11 item 5: no value of the domain XML adds a key, an option or a protocol to QEMU's command line.

Every XML field that reaches ``qemu-system-*``'s argv is fed a hostile value through
``conn.domainXMLToNative('qemu-argv', xml)`` on a real ``qemu:///session`` connection. The resulting argv is
parsed the way QEMU's option parser does (split on single commas, ``,,`` is a literal comma) and compared
with the argv of the same XML holding a harmless value: the same options with the same keys, or a refusal
with a libvirt error code saying what is wrong (never INTERNAL_ERROR).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Optional

import pytest
from hv_peers import real_libvirt, session_conn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import guiapp.backend as libvirt
from guiapp.backend import constants as C

#: Options whose value QEMU takes as one plain string (no key=value parsing).
RAW_OPTIONS = {"-kernel", "-initrd", "-append", "-bios", "-pidfile", "-uuid", "-incoming"}
#: What a refusal may be: the XML is wrong, not the program.
REFUSALS = {C.VIR_ERR_CONFIG_UNSUPPORTED, C.VIR_ERR_XML_ERROR, C.VIR_ERR_XML_DETAIL, C.VIR_ERR_INVALID_ARG,
            C.VIR_ERR_NO_SOURCE, C.VIR_ERR_NO_TARGET, C.VIR_ERR_OS_TYPE, C.VIR_ERR_NO_KERNEL,
            C.VIR_ERR_NO_NAME, C.VIR_ERR_NO_NETWORK}

BASE = """<domain type='qemu'>
  <name>inj</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/boot/k</kernel><initrd>/boot/i</initrd><cmdline>console=ttyS0</cmdline></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/tmp/d.img'/>
      <target dev='vda' bus='virtio'/></disk>
    <interface type='bridge'><source bridge='br0'/><target dev='tap0'/><model type='virtio'/>
      <mac address='52:54:00:00:00:01'/></interface>
    <interface type='ethernet'><target dev='tap1'/><script path='/etc/qemu-ifup'/></interface>
    <interface type='client'><source address='127.0.0.1' port='5000'/></interface>
    <interface type='server'><source address='127.0.0.1' port='5001'/></interface>
    <interface type='mcast'><source address='230.0.0.1' port='5558'><local address='127.0.0.1' port='5558'/>
      </source></interface>
    <interface type='network'><source network='default'/></interface>
    <serial type='file'><source path='/tmp/serial.log'/></serial>
    <graphics type='vnc' port='5901' listen='127.0.0.1' passwd='secret'/>
  </devices>
</domain>"""


@dataclass(frozen=True)
class Field:
    """An XML value: where it is (element path, attribute or None for the text) and a harmless value."""

    name: str
    path: str
    attr: Optional[str]
    benign: str
    free: bool = False  # a free string: it must come out whole (escaped), not only "not injected"

    def xml(self, value: str) -> str:
        root = etree.fromstring(BASE)
        el = root.find(self.path)
        assert el is not None, self.path
        if self.attr is None:
            el.text = value
        else:
            el.set(self.attr, value)
        return etree.tostring(root, encoding="unicode")


FIELDS = [
    Field("name", "name", None, "inj"),
    Field("machine", "os/type", "machine", "pc"),
    Field("arch", "os/type", "arch", "x86_64"),
    Field("kernel", "os/kernel", None, "/boot/k", free=True),
    Field("initrd", "os/initrd", None, "/boot/i", free=True),
    Field("cmdline", "os/cmdline", None, "console=ttyS0"),
    Field("emulator", "devices/emulator", None, "/usr/bin/qemu-system-x86_64", free=True),
    Field("disk source", "devices/disk/source", "file", "/tmp/d.img", free=True),
    Field("disk format", "devices/disk/driver", "type", "raw"),
    Field("disk target", "devices/disk/target", "dev", "vda"),
    Field("disk bus", "devices/disk/target", "bus", "virtio"),
    Field("disk device", "devices/disk", "device", "disk"),
    Field("bridge", "devices/interface[@type='bridge']/source", "bridge", "br0"),  # the driver enslaves the tap
    Field("bridge target dev", "devices/interface[@type='bridge']/target", "dev", "tap0", free=True),
    Field("nic model", "devices/interface[@type='bridge']/model", "type", "virtio"),
    Field("mac", "devices/interface[@type='bridge']/mac", "address", "52:54:00:00:00:01"),
    Field("ethernet target dev", "devices/interface[@type='ethernet']/target", "dev", "tap1", free=True),
    Field("script", "devices/interface[@type='ethernet']/script", "path", "/etc/qemu-ifup", free=True),
    Field("client address", "devices/interface[@type='client']/source", "address", "127.0.0.1"),
    Field("client port", "devices/interface[@type='client']/source", "port", "5000"),
    Field("server address", "devices/interface[@type='server']/source", "address", "127.0.0.1"),
    Field("mcast address", "devices/interface[@type='mcast']/source", "address", "230.0.0.1"),
    Field("mcast local address", "devices/interface[@type='mcast']/source/local", "address", "127.0.0.1"),
    Field("network", "devices/interface[@type='network']/source", "network", "default"),
    Field("serial path", "devices/serial/source", "path", "/tmp/serial.log", free=True),
    Field("serial type", "devices/serial", "type", "file"),
    Field("vnc listen", "devices/graphics", "listen", "127.0.0.1"),
    Field("vnc port", "devices/graphics", "port", "5901"),
    Field("vnc socket", "devices/graphics", "socket", "/tmp/vnc.sock", free=True),
    Field("vnc passwd", "devices/graphics", "passwd", "secret"),
]

PAYLOADS = [
    "raw,file.driver=file,file.filename=/etc/shadow",
    "/tmp/x,file.filename=/etc/shadow",
    "127.0.0.1,x=y",
    "pc,accel=kvm,x=y",
    "a,,b=c",
    "5900,id=x",
    "json:{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}",
    "nbd:127.0.0.1:10809",
    "1.2.3.4:5,to=9",
    "x\ny=z",
]


def _opt_value(text: str, i: int) -> tuple[str, int]:
    """QEMU's get_opt_value: up to a single comma; ``,,`` is a literal comma."""
    out = []
    while i < len(text):
        if text[i] == ",":
            if text[i + 1:i + 2] != ",":
                break
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i


def qemu_opts(text: str) -> list[tuple[Optional[str], str]]:
    """``key=value,...`` as QEMU's option parser (QemuOpts/keyval) reads it.

    The key of an item is what precedes the first ``=`` when no ``,`` comes first; otherwise the first item is
    the implied key's value (``None`` here) and later ones are flags; values end at a single comma."""
    out: list[tuple[Optional[str], str]] = []
    i = 0
    while True:
        rest = text[i:]
        cut = min((rest.find(c) for c in "=," if c in rest), default=len(rest))
        if cut < len(rest) and rest[cut] == "=":
            key: Optional[str] = rest[:cut]
            value, i = _opt_value(text, i + cut + 1)
        elif not out:
            key = None
            value, i = _opt_value(text, i)
        else:
            key, value, i = rest[:cut], "", i + cut
        out.append((key, value))
        if i >= len(text):
            return out
        i += 1  # the separating comma


def shape(argv: list[str]) -> list[object]:
    """What QEMU would see apart from the values: options, and the keys of every key=value option."""
    out: list[object] = []
    prev = ""
    for arg in argv[1:]:
        if prev.startswith("-") and prev not in RAW_OPTIONS:
            out.append(tuple(k for k, _ in qemu_opts(arg)))
        elif prev in RAW_OPTIONS:
            out.append("<raw>")
        else:
            out.append(arg)
        prev = arg if arg.startswith("-") and not out[-1] == "<raw>" else ""
    return out


def values(argv: list[str]) -> list[str]:
    """Every value QEMU would take from ``argv`` (after unescaping; ``unix:PATH`` as PATH), plus the raw arguments."""
    out = list(argv)
    for arg in argv:
        out.extend(v for _, v in qemu_opts(arg))
    return out + [v[len(p):] for v in out for p in ("unix:", "vnc=unix:") if v.startswith(p)]


@pytest.fixture(scope="module")
def qconn(tmp_path_factory: pytest.TempPathFactory):
    """A qemu:///session connection in private XDG dirs (no guest is started)."""
    yield from session_conn(tmp_path_factory.mktemp("qemu-inj"))


def argv_of(conn, xml: str) -> list[str]:
    return shlex.split(conn.domainXMLToNative("qemu-argv", xml, 0))


def check(conn, field: Field, value: str) -> str:
    """'refused' or 'escaped'; fails when the value added anything to QEMU's view of the command line."""
    benign = argv_of(conn, field.xml(field.benign))
    try:
        argv = argv_of(conn, field.xml(value))
    except libvirt.libvirtError as exc:
        assert exc.get_error_code() in REFUSALS, (field.name, value, exc.get_error_code(), str(exc))
        assert "Traceback" not in str(exc)
        return "refused"
    if not value.strip():  # an empty value leaves the option out (or to its default): nothing to inject
        return "escaped"
    assert shape(argv) == shape(benign), f"{field.name}={value!r} changed QEMU's options:\n{argv}"
    if field.name == "vnc passwd" and not any(value in a for a in benign):
        assert not any(value in a for a in argv), "the VNC password reached the command line"
    if field.free:
        assert value in values(argv), f"{field.name}={value!r} did not come through whole: {argv}"
    return "escaped"


def test_benign_base_builds(qconn) -> None:
    argv = argv_of(qconn, BASE)
    assert argv[0].endswith("qemu-system-x86_64") and "-netdev" in argv and "-vnc" in argv
    assert not any("secret" in a for a in argv)


def test_format_with_file_options_is_refused_as_libvirt_does(qconn) -> None:
    """The audit's probe: ``<driver type='raw,file.driver=file,file.filename=/etc/shadow'>``."""
    xml = Field("disk format", "devices/disk/driver", "type", "raw").xml(PAYLOADS[0])
    with pytest.raises(libvirt.libvirtError) as ei:
        qconn.domainXMLToNative("qemu-argv", xml, 0)
    assert ei.value.get_error_code() == C.VIR_ERR_CONFIG_UNSUPPORTED
    assert "unknown driver format value 'raw,file.driver=file,file.filename=/etc/shadow'" in str(ei.value)
    with pytest.raises(libvirt.libvirtError):  # nor can it be defined
        qconn.defineXML(xml)
    real = real_libvirt()
    if real is not None:  # Debian's libvirt refuses the same value with the same code
        rc = real.open("test:///default")
        test_xml = xml.replace("type='qemu'", "type='test'", 1)
        with pytest.raises(real.libvirtError) as rei:
            rc.defineXML(test_xml)
        assert rei.value.get_error_code() == ei.value.get_error_code()
        assert "unknown driver format value" in str(rei.value)
        rc.close()


@pytest.mark.parametrize("field", FIELDS, ids=[f.name for f in FIELDS])
def test_every_field_refuses_or_escapes_comma_payloads(qconn, field: Field) -> None:
    outcomes = {p: check(qconn, field, p) for p in PAYLOADS}
    assert set(outcomes.values()) <= {"refused", "escaped"}


@pytest.mark.parametrize("field,value", [
    ("disk source", "nbd:127.0.0.1:10809"),
    ("disk source", "json:{\"driver\":\"file\",\"filename\":\"/etc/shadow\"}"),
    ("disk source", "relative/disk.img"),
    ("disk format", "qcow2,backing.file.filename=/etc/shadow"),
    ("machine", "pc,accel=kvm"),
    ("machine", "no-such-machine"),
    ("client address", "127.0.0.1,x=y"),
    ("server address", "localhost,x=y"),
    ("mcast local address", "127.0.0.1,x=y"),
    ("vnc listen", "127.0.0.1:5,to=9"),
    ("vnc listen", "0.0.0.0,password=off"),
    ("script", "qemu-ifup"),
    ("client address", "::1"),  # QEMU's socket netdev is IPv4 only
])
def test_values_that_must_be_refused(qconn, field: str, value: str) -> None:
    f = next(x for x in FIELDS if x.name == field)
    assert check(qconn, f, value) == "refused"


@pytest.mark.parametrize("field,value,expect", [
    ("disk source", "/tmp/a,b=c.img", "file=/tmp/a,,b=c.img"),
    ("vnc listen", "::1", "[::1]:1,id=vnc1,password=on"),
    ("client address", "127.0.0.2", "connect=127.0.0.2:5000"),
    ("machine", "q35", "q35,accel=tcg"),
    ("disk format", "qcow2", "format=qcow2"),
])
def test_valid_values_come_through(qconn, field: str, value: str, expect: str) -> None:
    f = next(x for x in FIELDS if x.name == field)
    argv = argv_of(qconn, f.xml(value))
    assert any(expect in a for a in argv), argv


_XML_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00").filter(
    lambda ch: ch in "\t\n\r" or ord(ch) >= 0x20 and ch not in "\ufffe\uffff")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(FIELDS),
       value=st.one_of(st.text(_XML_CHARS, max_size=40),
                       st.builds(lambda a, b: a + b, st.sampled_from(["/tmp/", "127.0.0.1", "pc", "raw", "br"]),
                                 st.text(st.sampled_from(",=:;\"' \n[]{}/\\x"), max_size=12))))
def test_property_random_strings_are_escaped_or_refused(qconn, field: Field, value: str) -> None:
    check(qconn, field, value)


def _run_qemu_capture(argv: list[str]) -> tuple[int, str]:
    import subprocess
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stderr


@pytest.mark.qemu
def test_real_qemu_opens_the_escaped_name_not_the_injected_file(qconn, tmp_path) -> None:
    """QEMU itself reads ``file=/tmp/…/a,,file.filename=…`` as one file name: it fails on that name, it does not
    open the injected one (here a file of ours standing in for /etc/shadow)."""
    target = tmp_path / "shadow"
    target.write_text("secret\n")
    hostile = f"{tmp_path}/a,file.filename={target}"
    xml = Field("disk source", "devices/disk/source", "file", "/").xml(hostile)
    root = etree.fromstring(xml)
    for tag in ("devices/interface", "devices/serial", "devices/graphics", "os/kernel", "os/initrd", "os/cmdline"):
        for el in root.findall(tag):
            el.getparent().remove(el)
    argv = argv_of(qconn, etree.tostring(root, encoding="unicode"))
    i = argv.index("-drive")
    assert f"file={tmp_path}/a,,file.filename={target}," in argv[i + 1]
    # QEMU checks -drive at start-up; -S and no devices: it would not run a guest even if it started
    pidfile = tmp_path / "pid"
    run = [argv[0], "-machine", "none", "-nodefaults", "-display", "none", "-drive", argv[i + 1], "-S",
           "-qmp", f"unix:{tmp_path}/q.sock,server=on,wait=off", "-daemonize", "-pidfile", str(pidfile)]
    rc, err = _run_qemu_capture(run)
    if pidfile.exists():  # it should not have started; if it did, stop it by its pid
        import os
        import signal
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
    assert rc != 0, "QEMU started although the escaped file does not exist"
    assert f"{tmp_path}/a,file.filename={target}" in err and "No such file" in err, err


def test_architecture_names_only_known_binaries(qconn) -> None:
    """``<type arch>`` picks ``qemu-system-<arch>`` on PATH: a path-like arch never reaches shutil.which."""
    xml = Field("arch", "os/type", "arch", "x86_64").xml("../../../tmp/evil")
    xml = xml.replace("<emulator>/usr/bin/qemu-system-x86_64</emulator>", "")
    with pytest.raises(libvirt.libvirtError) as ei:
        qconn.defineXML(xml)
    assert ei.value.get_error_code() in REFUSALS
