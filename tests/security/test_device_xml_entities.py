"""Device and metadata XML reach the same safe parser as domain XML: entity tricks are refused, nothing is read
from the host, the domain is unchanged, and a key that is not an XML name never becomes a namespace prefix."""

from __future__ import annotations

import pytest

import guiapp.backend as libvirt
from guiapp.backend import constants as C

XXE = ("<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
       "<disk type='file' device='disk'><source file='/x&e;'/><target dev='vdb'/></disk>")
LAUGHS = ("<!DOCTYPE d [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
          "<app>&b;</app>")


@pytest.fixture
def dom():
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    conn = libvirt.open("test:///default")
    yield conn.lookupByName("test")
    conn.close()
    libvirt.registerErrorHandler(None, None)


def test_device_xml_with_entities_is_refused(dom):
    before = (dom.XMLDesc(0), dom.XMLDesc(2))
    for call in (dom.attachDeviceFlags, dom.detachDeviceFlags, dom.updateDeviceFlags):
        with pytest.raises(libvirt.libvirtError) as info:
            call(XXE, 3)
        assert info.value.get_error_code() == C.VIR_ERR_XML_ERROR
        assert "root:" not in info.value.get_error_message()
    assert (dom.XMLDesc(0), dom.XMLDesc(2)) == before


def test_metadata_xml_with_entities_and_bad_keys_is_refused(dom):
    with pytest.raises(libvirt.libvirtError) as info:
        dom.setMetadata(C.VIR_DOMAIN_METADATA_ELEMENT, LAUGHS, "app", "http://example.org/", 0)
    assert info.value.get_error_code() == C.VIR_ERR_XML_ERROR
    for key in ("a b", "x:y", "1abc", "<k>", "k'v"):
        with pytest.raises(libvirt.libvirtError) as info:
            dom.setMetadata(C.VIR_DOMAIN_METADATA_ELEMENT, "<app/>", key, "http://example.org/", 0)
        assert info.value.get_error_code() == C.VIR_ERR_INVALID_ARG
    assert "<metadata" not in dom.XMLDesc(0)


@pytest.mark.parametrize("text", ["</title><x/>", "a & b < c", "\u202e", "]]>"])
def test_title_and_description_are_text_not_markup(dom, text):
    dom.setMetadata(C.VIR_DOMAIN_METADATA_DESCRIPTION, text, None, None, 0)
    assert dom.metadata(C.VIR_DOMAIN_METADATA_DESCRIPTION, None, 0) == text
    assert "<x/>" not in dom.XMLDesc(0)
