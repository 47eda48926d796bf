"""Domain XML <-> xl.cfg (the xl toolstack's domain configuration format, see xl.cfg(5)).

The mapping follows the pairs libvirt keeps in ``tests/xlconfigdata``:

==========================  =================================================
XML                         xl.cfg
==========================  =================================================
name, uuid                  name, uuid
memory / currentMemory      maxmem / memory (MiB, rounded up)
vcpu / vcpu@current         maxvcpus / vcpus (vcpus alone when equal)
os/type linux|xen           type = "pv"; kernel, ramdisk, cmdline | root+extra
os/type hvm                 builder = "hvm"; firmware_override (<loader>),
                            boot (hd=c cdrom=d fd=a network=n), pae/acpi/apic,
                            device_model_override (<emulator>), serial
os/type xenpvh              type = "pvh"; kernel, ramdisk, cmdline
on_poweroff/reboot/crash    on_poweroff/on_reboot/on_crash
disk                        "format=,vdev=,access=ro|rw,backendtype=,devtype=cdrom,target="
interface bridge|ethernet   "mac=,bridge=,script=,model=,vifname=,ip="
graphics vnc (HVM)          vnc, vncunused, vncdisplay, vnclisten, vncpasswd
graphics vnc (PV)           vfb = [ "vnc=1,vncunused=,vncdisplay=,vnclisten=,vncpasswd=" ]
==========================  =================================================

Floppy drives have no libxl equivalent: they stay in the XML and are left out
of the xl.cfg (with a comment saying so).  Unsupported constructs (another
domain type, interface types xl has no notion of) are refused with
``VIR_ERR_CONFIG_UNSUPPORTED``; a PV guest without kernel or bootloader and an
HVM guest without loader are refused with ``VIR_ERR_NO_KERNEL``.
"""

from __future__ import annotations

from .xlcfg_export import domain_to_xl, guest_kind, to_cfg, validate
from .xlcfg_import import xl_to_domain_xml
from .xlcfg_specs import XL_ACTIONS
from .xlcfg_syntax import CfgValue, format_cfg, parse_cfg

__all__ = ["parse_cfg", "format_cfg", "to_cfg", "domain_to_xl", "xl_to_domain_xml", "validate", "guest_kind",
           "CfgValue", "XL_ACTIONS"]
