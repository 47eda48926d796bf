"""Domain XML -> QEMU argv, checked without starting guests (and QEMU accepting it where it matters)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from qemu_testlib import QEMU, SEED_QEMU, needs_qemu, wait_for

from guiapp.backend import constants as C
from guiapp.backend.drivers.qemu.command import RunPaths, build_command
from guiapp.backend.drivers.qemu.nic import mac_for
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain import parse_domain

PATHS = RunPaths("/r/g.qmp", "/r/g.cmd.qmp", "/r/g.pid", "/r/g.console.log", "/r/g.vnc")


def argv_of(xml: str, *, kvm: bool = True, check_files: bool = False, **kw) -> list[str]:
    return build_command(parse_domain(xml, hypervisor="qemu"), PATHS, kvm_usable=kvm, check_files=check_files,
                         **kw).argv


def opt_values(argv: list[str], opt: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == opt]


def dom(devices: str = "", *, dtype: str = "qemu", os_extra: str = "", features: str = "",
        lifecycle: str = "") -> str:
    return f"""<domain type='{dtype}'><name>g</name><uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>
      <memory>219200</memory><currentMemory>219200</currentMemory><vcpu>2</vcpu>
      <os><type arch='x86_64' machine='pc'>hvm</type>{os_extra}</os>{features}{lifecycle}
      <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>{devices}</devices></domain>"""


def test_seed_qemu_example_argv():
    xml = SEED_QEMU.format(emulator="/usr/bin/qemu-system-i386", iso="/home/user/boot.iso",
                           img="/home/user/fedora.img", net="network", net_source="<source name='default'/>")
    argv = argv_of(xml)
    assert argv[0] == "/usr/bin/qemu-system-i386"
    assert opt_values(argv, "-machine") == ["pc,accel=tcg,acpi=off"]
    assert opt_values(argv, "-m") == ["size=219200k"]
    assert opt_values(argv, "-smp") == ["2,maxcpus=2,sockets=2,cores=1,threads=1"]
    assert opt_values(argv, "-uuid") == ["c7a5fdbd-cdaf-9455-926a-d65c16db1809"]
    assert opt_values(argv, "-boot") == ["order=d"]
    drives = opt_values(argv, "-drive")
    assert "file=/home/user/boot.iso,if=none,id=drive-hdc,format=raw,readonly=on,media=cdrom" in drives
    assert "file=/home/user/fedora.img,if=none,id=drive-hda,format=raw" in drives
    devices = opt_values(argv, "-device")
    assert "ide-cd,bus=ide.1,unit=0,drive=drive-hdc,id=hdc" in devices
    assert "ide-hd,bus=ide.0,unit=0,drive=drive-hda,id=hda" in devices
    # network 'default' -> a tap enslaved to virbr0 after start
    assert any(v.startswith("tap,id=hostnet0,ifname=vnet0,script=no") for v in opt_values(argv, "-netdev"))
    vncs = opt_values(argv, "-vnc")
    assert vncs == ["vnc=unix:/r/g.vnc"]  # autoport without a listen address: the unix socket only (issue 11)
    for flag in ("-daemonize", "-S", "-nodefaults"):
        assert flag in argv
    assert "-no-shutdown" not in argv  # on_poweroff destroy: a guest power-off ends QEMU by itself
    assert opt_values(argv, "-chardev") == ["socket,id=qmp0,path=/r/g.qmp,server=on,wait=off",
                                            "socket,id=qmp1,path=/r/g.cmd.qmp,server=on,wait=off"]
    assert opt_values(argv, "-mon") == ["chardev=qmp0,mode=control", "chardev=qmp1,mode=control"]
    assert all(isinstance(a, str) for a in argv)


def test_kvm_seed_example_argv_and_refusal_without_kvm():
    xml = Path(__file__).resolve().parents[3].joinpath("data/seed/kvm_demo2.xml")
    text = xml.read_text() if xml.exists() else dom("<interface type='user'/>", dtype="kvm")
    argv = argv_of(text, kvm=True)
    assert opt_values(argv, "-machine")[0].split(",")[1] == "accel=kvm"
    with pytest.raises(DriverError) as ei:
        argv_of(text, kvm=False)
    assert ei.value.code == C.VIR_ERR_CONFIG_UNSUPPORTED
    assert "/dev/kvm" in ei.value.detail and "type='qemu'" in ei.value.detail


def test_direct_kernel_boot_acpi_and_lifecycle_flags():
    argv = argv_of(dom(os_extra="<kernel>/k</kernel><initrd>/i</initrd><cmdline>console=ttyS0</cmdline>"
                          "<root>/dev/vda</root><boot dev='hd'/>",
                       features="<features><acpi/></features>", lifecycle="<on_reboot>destroy</on_reboot>"))
    assert opt_values(argv, "-kernel") == ["/k"] and opt_values(argv, "-initrd") == ["/i"]
    assert opt_values(argv, "-append") == ["root=/dev/vda console=ttyS0"]
    assert "-boot" not in argv  # the kernel boots, not a device
    assert opt_values(argv, "-machine") == ["pc,accel=tcg"]
    assert "-no-reboot" in argv
    assert "-no-reboot" not in argv_of(dom())
    assert "-no-shutdown" in argv_of(dom(lifecycle="<on_poweroff>preserve</on_poweroff>"))


@pytest.mark.parametrize("target,bus,expect", [
    ("vda", None, ["virtio-blk-pci,drive=drive-vda,id=vda"]),
    ("sdb", "scsi", ["virtio-scsi-pci,id=scsi0",
                     "scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=1,drive=drive-sdb,id=sdb"]),
    ("sda", "sata", ["ahci,id=sata0", "ide-hd,bus=sata0.0,drive=drive-sda,id=sda"]),
    ("hdb", "ide", ["ide-hd,bus=ide.0,unit=1,drive=drive-hdb,id=hdb"]),
])
def test_disk_buses(target, bus, expect):
    b = f" bus='{bus}'" if bus else ""
    argv = argv_of(dom(f"<disk type='block' device='disk'><source dev='/dev/sdz'/><driver name='qemu' type='qcow2'/>"
                       f"<target dev='{target}'{b}/><readonly/><boot order='1'/></disk>"))
    devices = opt_values(argv, "-device")
    for e in expect[:-1]:
        assert e in devices
    assert expect[-1] + ",bootindex=1" in devices
    assert f"file=/dev/sdz,if=none,id=drive-{target},format=qcow2,readonly=on" in opt_values(argv, "-drive")


def test_floppy_and_paths_with_commas():
    argv = argv_of(dom("<disk type='file' device='floppy'><source file='/a,b.img'/><target dev='fda'/></disk>"))
    assert "file=/a,,b.img,if=none,id=drive-fda,format=raw" in opt_values(argv, "-drive")
    assert "floppy,unit=0,drive=drive-fda,id=fda" in opt_values(argv, "-device")


def test_six_network_modes_with_mac_and_model():
    nics = """
      <interface type='user'><mac address='12:22:33:44:55:66'/></interface>
      <interface type='network'><source network='default'/><target dev='vnet7'/><model type='virtio'/></interface>
      <interface type='bridge'><source bridge='br0'/><model type='rtl8139'/></interface>
      <interface type='ethernet'><target dev='tap9'/><script path='/etc/qemu-ifup-mynet'/></interface>
      <interface type='mcast'><source address='230.0.0.1' port='5558'/></interface>
      <interface type='server'><source address='192.168.0.1' port='5558'/></interface>
      <interface type='client'><source address='192.168.0.1' port='5558'/></interface>"""
    cmd = build_command(parse_domain(dom(nics), hypervisor="qemu"), PATHS, kvm_usable=False, check_files=False)
    netdevs = opt_values(cmd.argv, "-netdev")
    assert netdevs == [
        "user,id=hostnet0",
        "tap,id=hostnet1,ifname=vnet7,script=no,downscript=no,vhost=off",
        "tap,id=hostnet2,ifname=vnet2,script=no,downscript=no,vhost=off",
        "tap,id=hostnet3,ifname=tap9,script=/etc/qemu-ifup-mynet,downscript=no,vhost=off",
        "socket,id=hostnet4,mcast=230.0.0.1:5558",
        "socket,id=hostnet5,listen=192.168.0.1:5558",
        "socket,id=hostnet6,connect=192.168.0.1:5558",
    ]
    devices = [d for d in opt_values(cmd.argv, "-device") if "netdev=" in d]
    assert devices[0] == "rtl8139,netdev=hostnet0,mac=12:22:33:44:55:66,id=net0"
    assert devices[1].startswith("virtio-net-pci,netdev=hostnet1,mac=52:54:00:")
    assert devices[2].startswith("rtl8139,netdev=hostnet2,")
    assert [(t.ifname, t.bridge) for t in cmd.taps] == [("vnet7", "virbr0"), ("vnet2", "br0"), ("tap9", None)]


def test_ethernet_default_script_is_etc_qemu_ifup():
    argv = argv_of(dom("<interface type='ethernet'/>"))
    assert opt_values(argv, "-netdev") == ["tap,id=hostnet0,ifname=vnet0,script=/etc/qemu-ifup,downscript=no,vhost=off"]


def test_vnc_port_listen_password_and_serial_pty():
    argv = argv_of(dom("<graphics type='vnc' port='5904' listen='0.0.0.0' passwd='secret'/>"
                       "<console tty='/dev/pts/5'/>"))
    assert opt_values(argv, "-vnc") == ["vnc=unix:/r/g.vnc,password=on", "0.0.0.0:4,id=vnc1,password=on"]
    assert opt_values(argv, "-chardev")[0] == "pty,id=charserial0,logfile=/r/g.console.log,logappend=on"
    assert "isa-serial,chardev=charserial0,id=serial0" in opt_values(argv, "-device")
    cmd = build_command(parse_domain(dom("<graphics type='vnc' passwd='secret'/>"), hypervisor="qemu"), PATHS,
                        kvm_usable=False, check_files=False)
    assert cmd.vnc_password == "secret"


@pytest.mark.parametrize("devices,code,words", [
    ("<interface type='user'><model type='bogus'/></interface>", C.VIR_ERR_CONFIG_UNSUPPORTED, "NIC model"),
    ("<graphics type='spice'/>", C.VIR_ERR_CONFIG_UNSUPPORTED, "vnc"),
    ("<disk type='file' device='disk'><source file='/x'/><target dev='hde'/></disk>", C.VIR_ERR_CONFIG_UNSUPPORTED,
     "IDE"),
    ("<disk type='dir' device='disk'><source dir='/x'/><target dev='hda'/></disk>", C.VIR_ERR_CONFIG_UNSUPPORTED,
     "file' or 'block"),
])
def test_unsupported_configs_say_what_to_fix(devices, code, words):
    with pytest.raises(DriverError) as ei:
        argv_of(dom(devices))
    assert ei.value.code == code and words in ei.value.detail


def test_mcast_address_must_be_multicast_on_the_command_line():
    """libvirt's parser takes any IP for mcast (net-mcast.xml): QEMU's boundary is where 10.0.0.1 is refused."""
    xml = dom("<interface type='mcast'><source address='10.0.0.1' port='5558'/></interface>")
    parse_domain(xml)
    with pytest.raises(DriverError) as ei:
        argv_of(xml)
    assert "multicast" in ei.value.detail


def test_missing_files_are_reported_with_codes(tmp_path):
    with pytest.raises(DriverError) as ei:
        argv_of(dom(os_extra=f"<kernel>{tmp_path}/nope</kernel>"), check_files=True)
    assert ei.value.code == C.VIR_ERR_NO_KERNEL and "nope" in ei.value.detail
    with pytest.raises(DriverError) as ei:
        argv_of(dom().replace("/usr/bin/qemu-system-x86_64", f"{tmp_path}/qemu"), check_files=True)
    assert ei.value.code == C.VIR_ERR_CONFIG_UNSUPPORTED and "emulator" in ei.value.detail
    with pytest.raises(DriverError) as ei:
        argv_of(dom(f"<disk type='file' device='disk'><source file='{tmp_path}/d.img'/><target dev='vda'/></disk>"),
                check_files=True)
    assert ei.value.code == C.VIR_ERR_NO_SOURCE


def test_stable_generated_macs():
    assert mac_for(b"\1" * 16, 0) == mac_for(b"\1" * 16, 0) != mac_for(b"\1" * 16, 1)
    assert mac_for(b"\1" * 16, 0).startswith("52:54:00:")


@needs_qemu
def test_qemu_accepts_the_argv(tmp_path):
    """QEMU itself parses the generated options (devices, netdevs, vnc, drives) without complaint."""
    imgs = [tmp_path / f"d{i}.img" for i in range(3)]
    for img in imgs:
        img.write_bytes(b"\0" * 1024 * 1024)
    nics = """<interface type='user'/><interface type='mcast'><source address='230.0.0.1' port='5558'/></interface>
              <interface type='server'><source address='127.0.0.1' port='0'/></interface>"""
    disks = f"""<disk type='file' device='disk'><source file='{imgs[0]}'/><target dev='vda'/></disk>
                <disk type='file' device='cdrom'><target dev='hdc'/></disk>
                <disk type='file' device='disk'><source file='{imgs[1]}'/><target dev='sdb' bus='scsi'/></disk>
                <disk type='file' device='disk'><source file='{imgs[2]}'/><target dev='sda' bus='sata'/></disk>"""
    xml = dom(disks + nics.replace("port='0'", "port='45911'") + "<graphics type='vnc' port='-1'/><serial type='pty'/>",
              features="<features><acpi/></features>")
    paths = RunPaths(*(str(tmp_path / n) for n in ("q", "q2", "pid", "log", "vnc")))
    argv = build_command(parse_domain(xml, hypervisor="qemu"), paths, kvm_usable=False).argv
    argv = [QEMU if a == "/usr/bin/qemu-system-x86_64" else a for a in argv if a != "-daemonize"]
    i = argv.index("-pidfile")
    del argv[i:i + 2]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: Path(paths.qmp_cmd).exists() or p.poll() is not None, 20, "QEMU's QMP socket")
        assert p.poll() is None, p.stderr.read().decode() if p.stderr else ""
    finally:
        p.kill()
        p.wait()


def test_clock_offset_maps_to_rtc():
    """libvirt's mapping: localtime -> -rtc base=localtime; utc is QEMU's default; others are refused by name."""
    assert "-rtc" not in argv_of(dom())
    argv = argv_of(dom().replace("</os>", "</os><clock offset='localtime'/>"))
    assert opt_values(argv, "-rtc") == ["base=localtime"]
    with pytest.raises(DriverError) as ei:
        argv_of(dom().replace("</os>", "</os><clock offset='variable' adjustment='10'/>"))
    assert ei.value.code == C.VIR_ERR_CONFIG_UNSUPPORTED and "<clock offset='variable'>" in ei.value.detail
