"""QMP command failures become MonitorErrors that carry QEMU's own description."""

from __future__ import annotations

from qemu.qmp import ExecuteError
from qemu.qmp.message import Message
from qemu.qmp.models import ErrorResponse

from guiapp.backend.drivers.qemu.monitor import _execute_error


def test_execute_error_keeps_qemus_description():
    raw = {"error": {"class": "GenericError", "desc": "Device 'nope' not found"}, "id": 1}
    exc = ExecuteError(ErrorResponse(raw), Message({"execute": "device_del"}), Message(raw))
    err = _execute_error("device_del", exc)
    assert str(err).endswith("QEMU refused 'device_del': Device 'nope' not found")


def test_other_failures_name_the_exception():
    err = _execute_error("query-status", EOFError("gone"))
    assert "query-status" in str(err) and "EOFError" in str(err)
