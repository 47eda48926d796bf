"""Session connections and qemu-bridge-helper's ACL file (no root needed)."""

from __future__ import annotations

from guiapp.backend import constants as C
from guiapp.backend.hostnet import session


def test_bridge_conf_allow_deny_and_include(tmp_path):
    inc = tmp_path / "more.conf"
    inc.write_text("allow virbr1\n")
    conf = tmp_path / "bridge.conf"
    conf.write_text(f"# comment\nallow virbr0\ninclude {inc}\ndeny br9\n")
    assert session._allowed(str(conf), "virbr0") and session._allowed(str(conf), "virbr1")
    assert not session._allowed(str(conf), "br9") and not session._allowed(str(conf), "other")
    (tmp_path / "all.conf").write_text("allow all\n")
    assert session._allowed(str(tmp_path / "all.conf"), "anything")
    assert not session._allowed(str(tmp_path / "missing.conf"), "virbr0")


def test_no_tap_error_says_what_to_do():
    err = session.no_tap_error("default", "virbr0")
    assert err.code == C.VIR_ERR_CONFIG_UNSUPPORTED and err.domain == C.VIR_FROM_QEMU
    assert "qemu:///system" in err.detail and "allow virbr0" in err.detail


def test_helper_lookup_respects_the_acl(tmp_path):
    conf = tmp_path / "bridge.conf"
    conf.write_text("allow virbr0\n")
    found = session.bridge_helper_for("virbr0", str(conf))
    assert found is None or found in session.HELPER_PATHS
    assert session.bridge_helper_for("not-allowed", str(conf)) is None
