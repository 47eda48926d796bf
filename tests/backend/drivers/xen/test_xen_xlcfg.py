"""Domain XML <-> xl.cfg: the seed's examples, libvirt's xlconfigdata conventions, the real ``xl -N`` parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from xen_seed import FC4, FV0, without

from guiapp.backend import constants as C
from guiapp.backend.drivers.xen.capabilities import hvmloader_path
from guiapp.backend.drivers.xen.xlcfg import domain_to_xl, format_cfg, parse_cfg, xl_to_domain_xml
from guiapp.backend.drivers.xen.xlcfg_export import DEFAULT_LOADERS
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain import parse_domain


def cfg_of(xml: str) -> dict:
    return parse_cfg(domain_to_xl(xml))


# ----------------------------------------------------------------- seed examples

def test_seed_pv_fc4_maps_kernel_root_and_devices():
    cfg = cfg_of(FC4)
    assert cfg["name"] == "fc4"
    assert cfg["type"] == "pv"
    assert (cfg["maxmem"], cfg["memory"], cfg["vcpus"]) == (128, 128, 1)
    assert cfg["kernel"] == "/boot/vmlinuz-2.6.15-1.43_FC5guest"
    assert cfg["ramdisk"] == "/boot/initrd-2.6.15-1.43_FC5guest.img"
    assert (cfg["root"], cfg["extra"]) == ("/dev/sda1", " ro selinux=0 3")
    assert "cmdline" not in cfg
    assert cfg["disk"] == ["format=raw,vdev=sda1,access=rw,target=/u/fc4.img"]
    assert cfg["vif"] == ["mac=aa:00:00:00:00:11,bridge=xenbr0,script=/etc/xen/scripts/vif-bridge"]
    assert (cfg["on_poweroff"], cfg["on_reboot"], cfg["on_crash"]) == ("destroy", "restart", "destroy")


def test_seed_hvm_fv0_maps_loader_boot_features_emulator_vnc():
    text = domain_to_xl(FV0)
    cfg = parse_cfg(text)
    assert cfg["builder"] == "hvm"
    assert cfg["uuid"] == "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"
    assert "firmware_override" not in cfg  # hvmloader is libxl's default firmware: left to libxl, as libvirt does
    assert cfg["boot"] == "c"
    assert (cfg["pae"], cfg["acpi"], cfg["apic"]) == (1, 1, 1)
    assert cfg["device_model_override"] == "/usr/lib/xen/bin/qemu-dm"
    assert (cfg["vnc"], cfg["vncunused"], cfg["vncdisplay"]) == (1, 0, 4)
    assert cfg["on_crash"] == "restart"
    assert cfg["disk"] == ["format=raw,vdev=hda,access=rw,target=/root/fv0",
                           "format=raw,vdev=hdc,access=ro,devtype=cdrom,target=/root/fc5-x86_64-boot.iso"]
    assert "# floppy fda (/root/fd.img) left out" in text
    assert cfg["vif"] == ["mac=00:16:3e:5d:c7:9e,bridge=xenbr0,script=vif-bridge"]


@pytest.mark.xen
def test_real_xl_accepts_the_seed_configs(real_xl_dry_run):
    pv = real_xl_dry_run(domain_to_xl(FC4))
    assert pv["c_info"]["type"] == "pv" and pv["c_info"]["name"] == "fc4"
    assert pv["b_info"]["max_memkb"] == 131072 and pv["b_info"]["target_memkb"] == 131072
    assert pv["b_info"]["kernel"] == "/boot/vmlinuz-2.6.15-1.43_FC5guest"
    assert pv["b_info"]["cmdline"] == "root=/dev/sda1  ro selinux=0 3"
    assert pv["disks"][0]["vdev"] == "sda1" and pv["disks"][0]["pdev_path"] == "/u/fc4.img"
    assert pv["nics"][0]["mac"] == "aa:00:00:00:00:11" and pv["nics"][0]["bridge"] == "xenbr0"

    hvm = real_xl_dry_run(domain_to_xl(FV0))
    assert hvm["c_info"]["type"] == "hvm"
    assert hvm["c_info"]["uuid"] == "4dea22b3-1d52-d8f3-2516-782e98ab3fa0"
    h = hvm["b_info"]["type.hvm"]
    assert "firmware" not in h
    assert h["boot"] == "c" and h["pae"] == "True"
    assert h["vnc"]["enable"] == "True" and h["vnc"]["display"] == 4
    assert hvm["b_info"]["device_model"] == "/usr/lib/xen/bin/qemu-dm"
    assert [d["vdev"] for d in hvm["disks"]] == ["hda", "hdc"]
    assert hvm["disks"][1].get("is_cdrom") == 1
    assert hvm["nics"][0]["mac"] == "00:16:3e:5d:c7:9e"


VARIANTS = {
    "vcpus-current-below-max": (FC4, "<vcpu>1</vcpu>", "<vcpu current='2'>4</vcpu>"),
    "balloon-below-max": (FC4, "<memory>131072</memory>",
                          "<memory>262144</memory><currentMemory>131072</currentMemory>"),
    "pv-vnc-framebuffer": (FC4, "<console tty='/dev/pts/5'/>", "<graphics type='vnc' port='-1' listen='127.0.0.1'/>"),
    "block-phy-qcow2": (FC4, "<disk type='file'>\n      <source file='/u/fc4.img'/>",
                        "<disk type='block'><driver name='phy' type='raw'/>\n      <source dev='/dev/vg/fc4'/>"),
    "ethernet-vifname": (FC4, "<interface type='bridge'>\n      <source bridge='xenbr0'/>",
                         "<interface type='ethernet'><target dev='vif-fc4'/>"),
    "cmdline-without-root": (FC4, "<root>/dev/sda1</root>", ""),
    "hvm-autoport-vnc-e1000": (FV0, "<graphics type='vnc' port='5904'/>",
                               "<graphics type='vnc' port='-1' autoport='yes' passwd='secret'/>"),
    "hvm-empty-cdrom-boot-order": (FV0, "<source file='/root/fc5-x86_64-boot.iso'/>", ""),
    "hvm-crash-coredump": (FV0, "<on_crash>restart</on_crash>", "<on_crash>coredump-restart</on_crash>"),
    "hvm-serial": (FV0, "<emulator>", "<serial type='pty'/><emulator>"),
}


@pytest.mark.xen
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_real_xl_accepts_generated_variants_and_round_trips(name, real_xl_dry_run):
    base, old, new = VARIANTS[name]
    d = parse_domain(without(base, old, new), hypervisor="xen")  # once: FC4 has no uuid, parsing makes one
    text = domain_to_xl(d)
    parsed = real_xl_dry_run(text)
    assert parsed["b_info"]["max_memkb"] == d.memory_kib
    assert parsed["b_info"]["target_memkb"] == d.current_memory_kib
    assert parsed["b_info"]["max_vcpus"] == d.vcpus
    # and back: the XML read from our cfg keeps what the cfg carries
    back = parse_domain(xl_to_domain_xml(text), hypervisor="xen")
    assert (back.name, back.uuid, back.os_type) == (d.name, d.uuid, d.os_type)
    assert (back.memory_kib, back.current_memory_kib, back.vcpus, back.vcpus_current) == \
        (d.memory_kib, d.current_memory_kib, d.vcpus, d.vcpus_current)
    assert [(x.target, x.source, x.device, x.readonly) for x in back.disks] == \
        [(x.target, x.source, x.device, x.readonly or x.device == "cdrom") for x in d.disks if x.device != "floppy"]
    assert [(n.mac, n.bridge, n.script, n.model, n.target_dev) for n in back.interfaces] == \
        [(n.mac, n.bridge, n.script, n.model, n.target_dev) for n in d.interfaces]
    assert [(g.type, g.autoport, g.port if not g.autoport else -1, g.passwd) for g in back.graphics] == \
        [(g.type, g.autoport, g.port if not g.autoport else -1, g.passwd) for g in d.graphics]
    assert (back.on_poweroff, back.on_reboot, back.on_crash) == (d.on_poweroff, d.on_reboot, d.on_crash)
    assert (back.kernel, back.initrd, _cmdline(back), _loader(back), back.boot_devs) == \
        (d.kernel, d.initrd, _cmdline(d), _loader(d), d.boot_devs)


def _cmdline(d):
    """The kernel command line xl builds: the seed's <root> joins it as root=... (xl.cfg's root/extra)."""
    if d.root_dev:
        return f"root={d.root_dev} {d.cmdline}" if d.cmdline else f"root={d.root_dev}"
    return d.cmdline


def _loader(d):
    """hvmloader paths libxl uses by default read back as the host's hvmloader."""
    return "default hvmloader" if d.loader in DEFAULT_LOADERS + (hvmloader_path(),) else d.loader


@pytest.mark.xen
def test_real_xl_rejects_what_our_parser_rejects(real_xl_dry_run):
    bad = 'name = "x"\nmemory = abc\n'
    assert "syntax error" in real_xl_dry_run(bad, expect_ok=False)
    with pytest.raises(DriverError) as exc:
        parse_cfg(bad)
    assert exc.value.code == C.VIR_ERR_CONF_SYNTAX


# ------------------------------------------------- libvirt's xlconfigdata conventions
# Pairs written after libvirt's tests/xlconfigdata (test-paravirt-cmdline, test-fullvirt-nohap):
# the same settings must map to the same values in both directions.

LV_PV_CFG = """
name = "XenGuest2"
uuid = "c7a5fdb2-cdaf-9455-926a-d65c16db1809"
maxmem = 579
memory = 394
vcpus = 1
localtime = 0
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "restart"
vif = [ "mac=00:16:3e:66:92:9c,bridge=xenbr1,script=vif-bridge" ]
kernel = "/tmp/vmlinuz"
ramdisk = "/tmp/initrd"
cmdline = "root=/dev/xvda1 console=hvc0"
disk = [ "format=raw,vdev=xvda,access=rw,backendtype=qdisk,target=/dev/HostVG/XenGuest2" ]
"""

LV_PV_XML = """<domain type='xen'>
  <name>XenGuest2</name>
  <uuid>c7a5fdb2-cdaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>592896</memory>
  <currentMemory unit='KiB'>403456</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='xenpv'>linux</type>
    <kernel>/tmp/vmlinuz</kernel>
    <initrd>/tmp/initrd</initrd>
    <cmdline>root=/dev/xvda1 console=hvc0</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/dev/HostVG/XenGuest2'/>
      <target dev='xvda' bus='xen'/>
    </disk>
    <interface type='bridge'>
      <mac address='00:16:3e:66:92:9c'/>
      <source bridge='xenbr1'/>
      <script path='vif-bridge'/>
    </interface>
    <console type='pty'>
      <target type='xen' port='0'/>
    </console>
  </devices>
</domain>
"""

LV_HVM_CFG = """
name = "XenGuest2"
uuid = "c7a5fdb2-cdaf-9455-926a-d65c16db1809"
maxmem = 579
memory = 394
vcpus = 1
pae = 1
acpi = 1
apic = 1
hap = 0
viridian = 0
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "restart"
device_model = "/usr/lib/xen/bin/qemu-dm"
sdl = 0
vnc = 1
vncunused = 1
vnclisten = "127.0.0.1"
vif = [ "mac=00:16:3e:66:92:9c,bridge=xenbr1,script=vif-bridge,model=e1000" ]
parallel = "none"
serial = "none"
builder = "hvm"
boot = "d"
disk = [ "format=raw,vdev=hda,access=rw,backendtype=phy,target=/dev/HostVG/XenGuest2", "format=qcow2,vdev=hdb,access=rw,backendtype=qdisk,target=/var/lib/libvirt/images/XenGuest2-home", "format=raw,vdev=hdc,access=ro,backendtype=qdisk,devtype=cdrom,target=/root/boot.iso" ]
"""  # noqa: E501 - one line, as xl writes it

LV_HVM_XML = """<domain type='xen'>
  <name>XenGuest2</name>
  <uuid>c7a5fdb2-cdaf-9455-926a-d65c16db1809</uuid>
  <memory unit='KiB'>592896</memory>
  <currentMemory unit='KiB'>403456</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='xenfv'>hvm</type>
    <loader type='rom'>/usr/lib/xen/boot/hvmloader</loader>
    <boot dev='cdrom'/>
  </os>
  <features>
    <acpi/>
    <apic/>
    <pae/>
    <hap state='off'/>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <emulator>/usr/lib/xen/bin/qemu-dm</emulator>
    <disk type='block' device='disk'>
      <driver name='phy' type='raw'/>
      <source dev='/dev/HostVG/XenGuest2'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/XenGuest2-home'/>
      <target dev='hdb' bus='ide'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/root/boot.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='bridge'>
      <mac address='00:16:3e:66:92:9c'/>
      <source bridge='xenbr1'/>
      <script path='vif-bridge'/>
      <model type='e1000'/>
    </interface>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>
"""


@pytest.mark.parametrize("xml,cfg_text", [(LV_PV_XML, LV_PV_CFG), (LV_HVM_XML, LV_HVM_CFG)], ids=["pv", "hvm"])
def test_xml_to_cfg_matches_libvirt_pairs(xml, cfg_text):
    ours = cfg_of(xml)
    theirs = parse_cfg(cfg_text)
    for key in ("name", "uuid", "maxmem", "memory", "vcpus", "on_poweroff", "on_reboot", "on_crash", "disk",
                "kernel", "ramdisk", "cmdline", "pae", "acpi", "apic", "hap", "boot", "vnc", "vncunused",
                "vnclisten", "builder", "vif"):
        assert ours.get(key) == theirs.get(key), key
    if "device_model" in theirs:
        assert ours["device_model_override"] == theirs["device_model"]


def _canon(xml: str) -> list[tuple]:
    """The parts of a domain the mapping carries, comparable between two documents."""
    d = parse_domain(xml, hypervisor="xen")
    return [
        (d.name, d.uuid, d.memory_kib, d.current_memory_kib, d.vcpus, d.vcpus_current),
        ("hvm" if d.os_type == "hvm" else "pv", _loader(d), tuple(d.boot_devs), d.kernel, d.initrd, d.cmdline),
        tuple(sorted(f for f in d.features if d.root.find(f"features/{f}").get("state", "on") == "on")),
        (d.on_poweroff, d.on_reboot, d.on_crash, d.emulator),
        tuple((x.type, x.device, x.source, x.target, x.format, x.driver_name, x.readonly) for x in d.disks),
        tuple((n.type, n.mac, n.bridge, n.script, n.model) for n in d.interfaces),
        tuple((g.type, g.autoport, g.listen) for g in d.graphics),
    ]


@pytest.mark.parametrize("xml,cfg_text", [(LV_PV_XML, LV_PV_CFG), (LV_HVM_XML, LV_HVM_CFG)], ids=["pv", "hvm"])
def test_cfg_to_xml_matches_libvirt_pairs(xml, cfg_text):
    assert _canon(xl_to_domain_xml(cfg_text)) == _canon(xml)


# ----------------------------------------------------------------- bad input

@pytest.mark.parametrize("xml,code,words", [
    (without(FV0, "<loader>/usr/lib/xen/boot/hvmloader</loader>"), C.VIR_ERR_NO_KERNEL, "loader"),
    (without(FC4, "<kernel>/boot/vmlinuz-2.6.15-1.43_FC5guest</kernel>"), C.VIR_ERR_NO_KERNEL, "kernel"),
    (without(FC4, "type='xen'", "type='kvm'"), C.VIR_ERR_CONFIG_UNSUPPORTED, "type='xen'"),
    (without(FC4, "<interface type='bridge'>\n      <source bridge='xenbr0'/>",
             "<interface type='network'><source network='default'/>"), C.VIR_ERR_CONFIG_UNSUPPORTED, "bridge"),
    (without(FC4, "<source file='/u/fc4.img'/>", "<source file='/u/a,b.img'/>").replace("sda1'", "sd,a'"),
     C.VIR_ERR_CONFIG_UNSUPPORTED, "','"),
    (without(FC4, "<type>linux</type>", "<type>exe</type>"), C.VIR_ERR_OS_TYPE, "hvm"),
])
def test_unrunnable_definitions_are_refused_with_codes(xml, code, words):
    with pytest.raises(DriverError) as exc:
        domain_to_xl(xml)
    assert exc.value.code == code
    assert exc.value.domain == C.VIR_FROM_DOMAIN
    assert words in exc.value.detail


@pytest.mark.parametrize("text,line", [
    ('name = "a"\nmemory = \n', 2),
    ('name = "a"\ndisk = [ "x", \n', 3),
    ('name = "a\n', 1),
    ('= 3\n', 1),
    ('name "a"\n', 1),
])
def test_cfg_syntax_errors_name_the_line(text, line):
    with pytest.raises(DriverError) as exc:
        parse_cfg(text, "t.cfg")
    assert exc.value.code == C.VIR_ERR_CONF_SYNTAX
    assert f"t.cfg:{line}:" in exc.value.detail


def test_cfg_syntax_details():
    cfg = parse_cfg('# comment\nname = "a\\"b" ; memory = 0x10\nvif = [ "x",\n  \'y\', ]\nvif += [ "z" ]\n'
                    'extra = "p" ; extra += "q"\n')
    assert cfg == {"name": 'a"b', "memory": 16, "vif": ["x", "y", "z"], "extra": "pq"}
    text = format_cfg({"s": 'quote " back \\ nl \n', "n": 3, "l": ["a", "b"]})
    assert parse_cfg(text) == {"s": 'quote " back \\ nl \n', "n": 3, "l": ["a", "b"]}


def test_cfg_to_xml_needs_a_name_and_reads_legacy_disks():
    with pytest.raises(DriverError) as exc:
        xl_to_domain_xml('memory = 128\nkernel = "/k"\n')
    assert exc.value.code == C.VIR_ERR_NO_NAME
    xml = xl_to_domain_xml('name = "old"\nkernel = "/k"\ndisk = [ "phy:/dev/vg/old,xvda,w", '
                           '"file:/iso/x.iso,hdc:cdrom,r" ]\n')
    disks = etree.fromstring(xml).findall("devices/disk")
    assert [(d.get("type"), d.get("device"), d.find("target").get("dev")) for d in disks] == \
        [("block", "disk", "xvda"), ("file", "cdrom", "hdc")]
    assert disks[0].find("source").get("dev") == "/dev/vg/old"
    assert disks[1].find("readonly") is not None


# ------------------------------------------- what xl.cfg cannot carry is refused, never dropped (issue 15)

HVM_BASE = (Path(__file__).parents[3] / "data/libvirt/xl/test-fullvirt-nohap.xml").read_text()  # libvirt's


@pytest.mark.parametrize("old,new,words", [
    ("<features>", "<features><hyperv><relaxed state='on'/></hyperv>", "<features><hyperv>"),
    ("</devices>", "<sound model='ich6'/></devices>", "<sound>"),
    ("<clock offset='variable' adjustment='0' basis='utc'/>",
     "<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>", "timer name='rtc'"),
    ("<features>", "<cpu mode='host-model'/><features>", "cpu mode='host-model'"),
    ("</devices>", "<channel type='tcp'><source mode='bind' host='127.0.0.1' service='4555'/>"
                   "<target type='xen' name='c'/></channel></devices>", "channel type='tcp'"),
    ("</devices>", "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/>"
                   "<address bus='0' target='0' unit='0'/></source></hostdev></devices>", "hostdev type='scsi'"),
    ("</devices>", "<graphics type='rdp' autoport='yes'/></devices>", "graphics type 'rdp'"),
    ("<interface type='bridge'>\n      <mac address='00:16:3e:66:92:9c'/>\n      <source bridge='xenbr1'/>",
     "<interface type='user'>\n      <mac address='00:16:3e:66:92:9c'/>", "interface type 'user'"),
    ("<interface type='bridge'>\n      <mac address='00:16:3e:66:92:9c'/>",
     "<interface type='bridge'>\n      <mac address='00:16:3e:66:92:9c'/><bandwidth><inbound average='9'/>"
     "</bandwidth>", "inbound"),
], ids=["hyperv", "sound", "rtc-timer", "host-model", "tcp-channel", "scsi-hostdev", "rdp", "user-nic", "inbound"])
def test_what_xl_cannot_carry_is_refused_naming_it(old, new, words):
    assert old in HVM_BASE, old
    with pytest.raises(DriverError) as exc:
        domain_to_xl(HVM_BASE.replace(old, new, 1))
    assert exc.value.code == C.VIR_ERR_CONFIG_UNSUPPORTED
    assert words in exc.value.detail, exc.value.detail


def test_positional_disks_and_nested_lists_import():
    xml = xl_to_domain_xml('name = "p"\nbuilder = "hvm"\ndisk = [ "/dev/vg/p,raw,hda,rw,backendtype=phy", '
                           '"/i.iso,,hdc,,devtype=cdrom" ]\nvnuma = [ [ "pnode=0", "size=128", "vcpus=0", '
                           '"vdistances=10" ] ]\nmemory = 128\n')
    root = etree.fromstring(xml)
    disks = root.findall("devices/disk")
    assert [(d.get("type"), d.get("device"), d.find("target").get("dev")) for d in disks] == \
        [("block", "disk", "hda"), ("file", "cdrom", "hdc")]
    assert disks[0].find("source").get("dev") == "/dev/vg/p" and disks[1].find("readonly") is not None
    cell = root.find("cpu/numa/cell")
    assert (cell.get("cpus"), cell.get("memory")) == ("0", "131072")
    assert root.find("os/loader").text == hvmloader_path()  # the host's hvmloader, not a fixed path
