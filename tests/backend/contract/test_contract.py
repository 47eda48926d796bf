"""Behaviour every driver shares, specified once and run against each (see conftest.KINDS).

Debian's real libvirt test driver runs the same assertions: what is written here is libvirt's behaviour.
"""

from __future__ import annotations

import uuid as uuidlib

import pytest

from guiapp.backend import constants as C
from guiapp.backend.drivers import driver_for_scheme
from guiapp.backend.drivers.contract_check import contract_problems

SHUTOFF, RUNNING, PAUSED = C.VIR_DOMAIN_SHUTOFF, C.VIR_DOMAIN_RUNNING, C.VIR_DOMAIN_PAUSED


# ------------------------------------------------------------------ define / lookup / undefine
def test_define_lookup_undefine(target):
    conn = target.open()
    uuid = str(uuidlib.uuid4())
    dom = conn.defineXML(target.xml("contract-a", uuid))
    assert (dom.name(), dom.UUIDString(), dom.ID()) == ("contract-a", uuid, -1)
    assert (dom.isActive(), dom.isPersistent()) == (0, 1)
    assert dom.state(0)[0] == SHUTOFF and dom.info()[0] == SHUTOFF
    assert "contract-a" in conn.listDefinedDomains()
    assert conn.lookupByName("contract-a").UUIDString() == uuid
    assert conn.lookupByUUIDString(uuid).name() == "contract-a"
    assert conn.lookupByUUID(uuidlib.UUID(uuid).bytes).name() == "contract-a"
    assert "contract-a" in [d.name() for d in conn.listAllDomains(C.VIR_CONNECT_LIST_DOMAINS_INACTIVE)]
    assert "contract-a" not in [d.name() for d in conn.listAllDomains(C.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    dom.undefine()
    target.fails(lambda: conn.lookupByName("contract-a"), C.VIR_ERR_NO_DOMAIN)
    target.fails(lambda: conn.lookupByUUIDString(uuid), C.VIR_ERR_NO_DOMAIN)
    assert "contract-a" not in conn.listDefinedDomains()


def test_redefine_same_name_and_uuid_updates(target):
    conn = target.open()
    uuid = str(uuidlib.uuid4())
    conn.defineXML(target.xml("contract-b", uuid))
    dom = conn.defineXML(target.xml("contract-b", uuid).replace("<vcpu>2</vcpu>", "<vcpu>1</vcpu>"))
    assert dom.UUIDString() == uuid
    assert conn.lookupByName("contract-b").info()[3] == 1
    assert conn.listDefinedDomains().count("contract-b") == 1


def test_duplicate_name_or_uuid_refused(target):
    conn = target.open()
    uuid = str(uuidlib.uuid4())
    conn.defineXML(target.xml("contract-c", uuid))
    err = target.fails(lambda: conn.defineXML(target.xml("contract-c")), C.VIR_ERR_OPERATION_FAILED)
    assert "contract-c" in str(err) and "already exists" in str(err)
    err = target.fails(lambda: conn.defineXML(target.xml("contract-d", uuid)), C.VIR_ERR_OPERATION_FAILED)
    assert "contract-c" in str(err) and uuid in str(err)
    target.fails(lambda: conn.lookupByName("contract-d"), C.VIR_ERR_NO_DOMAIN)
    assert conn.lookupByName("contract-c").UUIDString() == uuid  # nothing lost


def test_lookup_unknown(target):
    conn = target.open()
    target.fails(lambda: conn.lookupByName("contract-none"), C.VIR_ERR_NO_DOMAIN)
    target.fails(lambda: conn.lookupByUUIDString(str(uuidlib.uuid4())), C.VIR_ERR_NO_DOMAIN)


def test_bad_xml_refused(target):
    conn = target.open()
    target.fails(lambda: conn.defineXML("<domain type="), C.VIR_ERR_XML_DETAIL)
    target.fails(lambda: conn.defineXML(target.xml("contract-x").replace("<name>contract-x</name>", "")),
                 C.VIR_ERR_NO_NAME)


# ------------------------------------------------------------------ state preconditions
def test_state_errors_on_a_defined_domain(target):
    conn = target.open()
    dom = conn.defineXML(target.xml("contract-e"))
    for op in ("suspend", "resume", "shutdown", "destroy", "reboot"):
        target.fails(getattr(dom, op), C.VIR_ERR_OPERATION_INVALID, op)
    assert dom.state(0)[0] == SHUTOFF  # nothing changed


def test_affect_flags_on_a_defined_domain(target):
    conn = target.open()
    dom = conn.defineXML(target.xml("contract-f"))
    target.fails(lambda: dom.setMemoryFlags(65536, C.VIR_DOMAIN_AFFECT_LIVE), C.VIR_ERR_OPERATION_INVALID)
    target.fails(lambda: dom.setVcpusFlags(1, C.VIR_DOMAIN_AFFECT_LIVE), C.VIR_ERR_OPERATION_INVALID)
    dom.setMemoryFlags(65536, C.VIR_DOMAIN_AFFECT_CURRENT)  # CURRENT on a stopped domain: its config
    assert conn.lookupByName("contract-f").info()[2] == 65536
    dom.setVcpusFlags(1, C.VIR_DOMAIN_AFFECT_CONFIG)
    assert conn.lookupByName("contract-f").info()[3] == 1
    target.fails(lambda: dom.setMemoryFlags(10 ** 9, C.VIR_DOMAIN_AFFECT_CONFIG), C.VIR_ERR_INVALID_ARG)


def test_unknown_flags_refused(target):
    conn = target.open()
    dom = conn.defineXML(target.xml("contract-g"))
    target.fails(lambda: dom.XMLDesc(1 << 30), C.VIR_ERR_INVALID_ARG)
    target.fails(lambda: dom.setMemoryFlags(65536, 1 << 30), C.VIR_ERR_INVALID_ARG)


# ------------------------------------------------------------------ read-only connections
def test_read_only_refusals(target):
    conn = target.open()
    conn.defineXML(target.xml("contract-h"))
    ro = target.open(read_only=True)
    dom = ro.listAllDomains(0)[0]  # guiapp's test:///default: each connection has its own node
    state = dom.state(0)
    for op in (lambda: ro.defineXML(target.xml("contract-i")), lambda: ro.defineXML("not xml"),
               dom.create, dom.undefine, dom.destroy, lambda: dom.setMemoryFlags(65536, 0),
               lambda: dom.setAutostart(1)):
        err = target.fails(op, C.VIR_ERR_OPERATION_DENIED)
        assert "read only" in str(err) or "read-only" in str(err)
    assert dom.state(0) == state and ro.lookupByName(dom.name()).isPersistent() == dom.isPersistent()
    target.fails(lambda: ro.lookupByName("contract-i"), C.VIR_ERR_NO_DOMAIN)


def test_closed_connection_refused(target):
    conn = target.open()
    dom = conn.defineXML(target.xml("contract-j"))
    other = target.open()
    other.close()
    target.conns.remove(other)
    target.fails(lambda: other.lookupByName("contract-j"), C.VIR_ERR_INVALID_CONN)
    assert dom.name() == "contract-j"


# ------------------------------------------------------------------ a running domain
def test_running_domain_rules(running):
    target, conn, dom = running
    uuid = dom.UUIDString()
    assert dom.isActive() == 1 and dom.ID() > 0 and dom.state(0)[0] == RUNNING
    target.fails(dom.create, C.VIR_ERR_OPERATION_INVALID, "create")
    target.fails(lambda: conn.createXML(target.xml(dom.name(), uuid), 0), C.VIR_ERR_OPERATION_INVALID)
    target.fails(lambda: conn.defineXML(target.xml("contract-other", uuid)), C.VIR_ERR_OPERATION_FAILED)
    dom.suspend()
    assert dom.state(0)[0] == PAUSED
    dom.resume()
    dom.destroy()
    assert dom.state(0)[0] == SHUTOFF and dom.isPersistent() == 1
    target.fails(dom.destroy, C.VIR_ERR_OPERATION_INVALID)


def test_undefine_running_makes_it_transient(running):
    target, conn, dom = running
    dom.undefine()
    live = conn.lookupByName(dom.name())
    assert (live.isActive(), live.isPersistent()) == (1, 0)
    target.fails(lambda: live.setMemoryFlags(65536, C.VIR_DOMAIN_AFFECT_CONFIG), C.VIR_ERR_OPERATION_INVALID)
    live.destroy()
    target.fails(lambda: conn.lookupByName(dom.name()), C.VIR_ERR_NO_DOMAIN)


# ------------------------------------------------------------------ the typed contract itself
@pytest.mark.parametrize("scheme", ["test", "qemu", "xen"])
def test_driver_classes_match_the_contract(scheme):
    assert contract_problems(driver_for_scheme(scheme)) == []


def test_contract_check_refuses_broken_drivers(monkeypatch):
    from guiapp.backend.drivers import contract_check as contract
    from guiapp.backend.drivers.test import TestDriver

    class Misspelt(TestDriver):
        def domain_set_memroy(self, ref, memory, flags):  # the front-end would never call it
            pass

    class TooFewParameters(TestDriver):
        def domain_set_memory(self, ref, memory):  # the front-end passes flags too
            pass

    class NeedsKeyword(TestDriver):
        def domain_suspend(self, ref, *, force):
            pass

    assert "'domain_set_memroy' looks like a misspelt operation 'domain_set_memory'" in \
        "\n".join(contract_problems(Misspelt))
    assert any("domain_set_memory(ref, memory) does not match" in p for p in contract_problems(TooFewParameters))
    assert any("keyword-only" in p for p in contract_problems(NeedsKeyword))
    with pytest.raises(contract.ContractError, match="breaks the driver contract"):
        contract.check_driver(TooFewParameters)
    # at open(): a broken driver is an internal error (a libvirtError), never a user's "not supported"
    import guiapp.backend as libvirt
    import guiapp.backend.drivers as drivers

    # (registration checks signatures; the spelling check is this suite's, test_driver_classes_match_...)
    monkeypatch.setattr(drivers, "driver_for_scheme", lambda scheme: TooFewParameters)
    monkeypatch.setattr(libvirt, "driver_for_uri", lambda uri, read_only: TooFewParameters)
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    try:
        with pytest.raises(libvirt.libvirtError) as info:
            libvirt.open("test:///default")
    finally:
        libvirt.registerErrorHandler(None, None)
    assert info.value.get_error_code() == C.VIR_ERR_INTERNAL_ERROR
    assert "domain_set_memory(ref, memory) does not match" in str(info.value)
