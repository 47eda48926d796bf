"""The rules check_domain runs on every domain of a node file answer their common case without path searches
(issue 16): each case here sits on the edge of such a shortcut, and must be refused (or not) exactly as the
rule's full reading refuses it."""

from __future__ import annotations

from typing import Optional

import pytest
from lxml import etree

from guiapp.backend import constants as C
from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain import DomainDef
from guiapp.backend.xml.domain_checks import check_domain
from guiapp.backend.xml.domain_normalize import check_domain_tree
from guiapp.backend.xml.node import DomainFacts
from guiapp.models.demo import domain_xml

OS = "<os><type>hvm</type>{boot}</os>"


def _dom(os_extra: str = "<boot dev='hd'/>", devices: str = "") -> etree._Element:
    return etree.fromstring(f"<domain type='test'><name>d</name><memory>1024</memory>{OS.format(boot=os_extra)}"
                            f"<devices>{devices}</devices></domain>")


def _verdict(root: etree._Element) -> Optional[tuple[int, str]]:
    try:
        check_domain(root)
    except DriverError as e:
        return e.code, str(e)
    return None


def _matches(verdict: Optional[tuple[int, str]], expected: Optional[tuple[int, str]]) -> bool:
    """The same code, and the expected message (after libvirt's prefix such as 'internal error: ')."""
    if verdict is None or expected is None:
        return verdict is expected
    return verdict[0] == expected[0] and verdict[1].endswith(": " + expected[1])


DISK = "<disk type='file' device='disk'><source file='/x.img'{src_attr}>{src}</source><target dev='vda'/>{extra}</disk>"


def _disk(src_attr: str = "", src: str = "", extra: str = "") -> str:
    return DISK.format(src_attr=src_attr, src=src, extra=extra)


CASES = [
    # loadparm: only a disk's <boot loadparm> is read, and checked
    (_dom("", _disk(extra="<boot order='1' loadparm='toolongvalue'/>")),
     (C.VIR_ERR_INTERNAL_ERROR, "loadparm value 'toolongvalue' must be between 1 and 8 characters")),
    (_dom("", _disk(extra="<boot order='1' loadparm='a$b'/>")),
     (C.VIR_ERR_INTERNAL_ERROR, "invalid loadparm value 'a$b', expecting chars in set of [a-zA-Z0-9.] and blank "
                                "spaces")),
    (_dom("", "<interface type='network'><source network='default'/><boot order='1' loadparm='toolongvalue'/>"
              "</interface>"), None),
    # per-device boot order next to <os><boot>; a bootmenu timeout
    (_dom("<boot dev='hd'/>", _disk(extra="<boot order='1'/>")),
     (C.VIR_ERR_CONFIG_UNSUPPORTED, "per-device boot elements cannot be used together with os/boot elements")),
    (_dom("", _disk(extra="<boot order='1'/>")), None),
    (_dom("<boot dev='hd'/><bootmenu enable='yes' timeout='70000'/>"),
     (C.VIR_ERR_CONFIG_UNSUPPORTED, "invalid value for boot menu timeout, must be in range [0,65535]")),
    (_dom("<boot dev='hd'/><bootmenu enable='yes' timeout='5000'/>"), None),
    # disk secrets: fdgroup, and auth/encryption given twice or with a cipher
    (_dom(devices=_disk(src_attr=" fdgroup='g'")),
     (C.VIR_ERR_CONFIG_UNSUPPORTED, "driver does not support FD passing for disk 'vda' (drop the fdgroup "
                                    "attribute)")),
    (_dom(devices=_disk(src="<auth username='u'><secret type='iscsi' usage='x'/></auth>",
                        extra="<auth username='u'><secret type='iscsi' usage='x'/></auth>")),
     (C.VIR_ERR_CONFIG_UNSUPPORTED, "an <auth> definition already found for disk source")),
    (_dom(devices=_disk(src="<encryption format='luks'><cipher name='aes'/></encryption>")),
     (C.VIR_ERR_CONFIG_UNSUPPORTED, "supplying <cipher> for domain disk definition is unnecessary")),
    (_dom(devices=_disk(src="<encryption format='luks'/>")), None),
    # drive addresses (the disk rule walks <devices> children itself)
    (_dom(devices="<disk type='file' device='disk'><source file='/a'/><target dev='hda'/></disk>"
                  "<disk type='file' device='disk'><source file='/b'/><target dev='hdb'/>"
                  "<address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>"),
     (C.VIR_ERR_CONFIG_UNSUPPORTED, "Found duplicate drive address for disk with target name 'hdb' (it is used by "
                                    "'hda')")),
]


@pytest.mark.parametrize("root,expected", CASES)
def test_a_shortcut_refuses_what_the_rule_refuses(root, expected):
    assert _matches(_verdict(root), expected), _verdict(root)


@pytest.mark.parametrize("xml", [
    domain_xml(7, 1),
    "<domain type='test'><name>bare</name><memory unit='MiB'>64</memory><os><type> hvm </type></os></domain>",
    "<domain type='test'><name>v</name><uuid>00000000-0000-0000-0000-00000000000a</uuid><memory>4096</memory>"
    "<currentMemory>8192</currentMemory><vcpu current='2'>4</vcpu><os><type>hvm</type></os></domain>",
])
def test_check_domain_tree_returns_the_facts_listing_reads(xml):
    root = etree.fromstring(xml.encode())
    facts = DomainFacts._make(check_domain_tree(root, "test"))
    assert facts == DomainFacts.of_checked(root)
    made = DomainFacts.of(DomainDef(etree.fromstring(xml.encode()), hypervisor="test"))
    assert facts == (made if "<uuid>" in xml else made._replace(uuid=facts.uuid))  # no UUID: a new one each
