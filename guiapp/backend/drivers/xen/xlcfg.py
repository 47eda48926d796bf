"""Domain XML <-> xl.cfg (the xl toolstack's domain configuration format, see xl.cfg(5)).

The mapping follows libvirt's ``xenFormatXL``/``xenParseXL`` on its own pairs
(``tests/data/libvirt/xl``, libvirt's xlconfigdata).  Modules:

* :mod:`.xlcfg_syntax` - the xl.cfg grammar (strings, numbers, nested lists) both ways;
* :mod:`.xlcfg_export` / :mod:`.xlcfg_export_extra` - XML -> settings (OS, memory, disks, vifs, graphics /
  features, CPU, clock, serials, channels, host devices, controllers, inputs, video, QEMU arguments);
* :mod:`.xlcfg_import` / :mod:`.xlcfg_import_extra` - settings -> XML, the same topics the other way;
* :mod:`.xlcfg_specs` - value checks for ``key=value`` device specs and the name tables.

Every value reaches xl.cfg as a quoted string (xl's escapes) or a checked number; values inside device specs may
not carry ``,`` or ``=``.  What xl.cfg cannot carry is refused with ``VIR_ERR_CONFIG_UNSUPPORTED`` naming the
element (floppies, which libxl lacks, are left out with a comment).  A PV guest without kernel or bootloader and
an HVM guest without loader are refused with ``VIR_ERR_NO_KERNEL``.
"""

from __future__ import annotations

from .xlcfg_export import domain_to_xl, guest_kind, to_cfg, validate
from .xlcfg_import import xl_to_domain_xml
from .xlcfg_specs import XL_ACTIONS
from .xlcfg_syntax import CfgValue, format_cfg, parse_cfg

__all__ = ["parse_cfg", "format_cfg", "to_cfg", "domain_to_xl", "xl_to_domain_xml", "validate", "guest_kind",
           "CfgValue", "XL_ACTIONS"]
