"""check_domain skips a rule when none of its trigger tags occurs: the verdict must equal running every rule."""

from __future__ import annotations

from typing import Optional

from lxml import etree

from guiapp.backend.errors import DriverError
from guiapp.backend.xml.domain_checks import CHECKS, TRIGGERS, check_domain
from guiapp.backend.xml.domain_checks2 import CHECKS2, TRIGGERS2
from tests.backend.conformance.corpus import domain_inputs


def _verdict(root: etree._Element) -> Optional[tuple[int, int, str]]:
    try:
        check_domain(root)
    except DriverError as e:
        return (e.code, e.domain, str(e))
    return None


def _every_rule(root: etree._Element) -> Optional[tuple[int, int, str]]:
    try:
        for check in CHECKS + CHECKS2:
            check(root)
    except DriverError as e:
        return (e.code, e.domain, str(e))
    return None


def test_every_rule_has_its_triggers_listed():
    assert set(TRIGGERS) | set(TRIGGERS2) == set(CHECKS + CHECKS2)


def test_skipping_rules_never_changes_a_verdict_on_libvirts_inputs():
    inputs = domain_inputs()
    assert len(inputs) > 500
    refused = 0
    for path in inputs:
        try:
            root = etree.fromstring(path.read_bytes())
        except etree.XMLSyntaxError:
            continue
        if root.tag != "domain":
            continue
        full = _every_rule(root)
        assert _verdict(root) == full, path.name
        refused += full is not None
    assert refused > 10  # the corpus exercises the rules, not only accepted domains
