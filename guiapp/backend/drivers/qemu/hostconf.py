"""The QEMU driver's host settings: a small subset of libvirt's ``qemu.conf`` (VNC and character device TLS/SASL).

libvirt takes these from the driver's configuration, not from the domain XML; so does guiapp. The file is
``qemu.conf`` beside the driver's config directory (``~/.config/guiapp/qemu.conf`` for ``qemu:///session``,
``/etc/guiapp/qemu.conf`` for ``qemu:///system``; libvirt: ``~/.config/libvirt/qemu.conf``,
``/etc/libvirt/qemu.conf``), in libvirt's syntax (``key = value``, ``#`` comments, strings in double quotes,
booleans as 0/1). Keys (libvirt's names and meanings):

``vnc_listen``                 address of a VNC display without ``listen`` (``127.0.0.1``)
``vnc_auto_unix_socket``       a VNC display without listener gets a unix socket only (guiapp: 1, libvirt: 0 —
                               guiapp's own viewer connects through that socket)
``vnc_tls``                    TLS (``-object tls-creds-x509``, ``tls-creds=``) on VNC's TCP listeners (0)
``vnc_tls_x509_cert_dir``      its certificates (``ca-cert.pem``, ``server-cert.pem``, ``server-key.pem``)
``vnc_tls_x509_verify``        ask clients for a certificate signed by the CA
``vnc_sasl``                   SASL authentication (``sasl=on``) on VNC's TCP listeners (0)
``chardev_tls``                TLS on ``<serial|console|parallel type='tcp'>`` without ``<source tls>`` (0)
``chardev_tls_x509_cert_dir``  their certificates; ``chardev_tls_x509_verify``: verify clients of bind sockets
``default_tls_x509_cert_dir``  the certificate directory of the above when unset (``/etc/pki/qemu``)
``default_tls_x509_verify``    the verify setting of the above when unset (1)

Unknown keys are ignored (as libvirt does), except libvirt's settings of the same features guiapp cannot honour
(:data:`UNSUPPORTED`: a key password from libvirt's secret driver, a SASL configuration directory): ignoring
them would start QEMU with another configuration than asked, so they are refused with
``VIR_ERR_CONFIG_UNSUPPORTED`` naming the key and what to do. A key of the wrong type or a malformed line is
refused with ``VIR_ERR_CONF_SYNTAX`` naming the file and line. Directories must be absolute paths without control
characters (they reach QEMU's option syntax, escaped there).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Optional

from ... import constants as C
from ...errors import DriverError
from .optcheck import qemu_escape

FILE_NAME = "qemu.conf"
DEFAULT_TLS_DIR = "/etc/pki/qemu"
_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: libvirt qemu.conf settings of the features above that guiapp cannot honour -> what to do instead
UNSUPPORTED = {
    "vnc_tls_x509_secret_uuid": "guiapp has no secret store: use a server key without a password",
    "chardev_tls_x509_secret_uuid": "guiapp has no secret store: use a server key without a password",
    "default_tls_x509_secret_uuid": "guiapp has no secret store: use a server key without a password",
    "vnc_sasl_dir": "QEMU reads SASL's configuration from its default place (/etc/sasl2/qemu.conf); remove it",
}


@dataclass(frozen=True)
class QemuHostConfig:
    """The settings of :mod:`hostconf` (defaults: libvirt's, except ``vnc_auto_unix_socket``)."""

    vnc_listen: str = "127.0.0.1"
    vnc_auto_unix_socket: bool = True
    vnc_tls: bool = False
    vnc_tls_x509_cert_dir: Optional[str] = None
    vnc_tls_x509_verify: Optional[bool] = None
    vnc_sasl: bool = False
    chardev_tls: bool = False
    chardev_tls_x509_cert_dir: Optional[str] = None
    chardev_tls_x509_verify: Optional[bool] = None
    default_tls_x509_cert_dir: str = DEFAULT_TLS_DIR
    default_tls_x509_verify: bool = True

    def __post_init__(self) -> None:
        for name in ("vnc_tls_x509_cert_dir", "chardev_tls_x509_cert_dir", "default_tls_x509_cert_dir"):
            value = getattr(self, name)
            if value is not None:
                tls_dir(value, name)
        if _CONTROL.search(self.vnc_listen):
            raise _bad(f"vnc_listen {self.vnc_listen!r} contains control characters; use an IP address")

    @property
    def vnc_dir(self) -> str:
        return self.vnc_tls_x509_cert_dir or self.default_tls_x509_cert_dir

    @property
    def vnc_verify(self) -> bool:
        return self.default_tls_x509_verify if self.vnc_tls_x509_verify is None else self.vnc_tls_x509_verify

    @property
    def chardev_dir(self) -> str:
        return self.chardev_tls_x509_cert_dir or self.default_tls_x509_cert_dir

    @property
    def chardev_verify(self) -> bool:
        return (self.default_tls_x509_verify if self.chardev_tls_x509_verify is None
                else self.chardev_tls_x509_verify)

    def with_(self, **changes: Any) -> QemuHostConfig:
        """A copy with ``changes`` (checked like a loaded file)."""
        return replace(self, **changes)


def _bad(detail: str) -> DriverError:
    return DriverError(C.VIR_ERR_CONF_SYNTAX, detail, C.VIR_FROM_CONF)


def tls_dir(path: str, what: str) -> str:
    """A certificate directory: absolute, no control characters (a newline or NUL would end QEMU's option)."""
    if not isinstance(path, str) or not path.startswith("/") or _CONTROL.search(path):
        raise _bad(f"{what} {path!r} must be an absolute directory path without control characters, "
                   f"e.g. {DEFAULT_TLS_DIR}")
    return path


DEFAULT = QemuHostConfig()


def _value(raw: str, where: str) -> Any:
    """A string or a number, with an optional trailing ``# comment``."""
    if raw.startswith('"'):
        end = raw.find('"', 1)
        rest = raw[end + 1:].strip() if end > 0 else ""
        if end < 0 or (rest and not rest.startswith("#")):
            raise _bad(f"{where}: unterminated or malformed string {raw!r}; write \"text\"")
        return raw[1:end]
    number = raw.split("#", 1)[0].strip()
    if re.fullmatch(r"-?[0-9]+", number):
        return int(number)
    raise _bad(f"{where}: value {raw!r} is neither a \"string\" nor a number")


def parse(text: str, source: str = FILE_NAME) -> QemuHostConfig:
    """The settings written in ``text`` (libvirt's qemu.conf syntax); ``source`` names it in errors."""
    kinds = {f.name: f.type for f in fields(QemuHostConfig)}
    values: dict[str, Any] = {}
    in_list = False  # inside a list of a setting guiapp does not read, which may span lines
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if in_list:
            in_list = "]" not in stripped.split("#", 1)[0]
            continue
        if not stripped or stripped.startswith("#"):
            continue
        m = _LINE.match(line)
        where = f"{source} line {n}"
        if m is None:
            raise _bad(f"{where}: expected 'key = value', got {stripped[:60]!r}")
        key, raw = m.group(1), m.group(2)
        if key in UNSUPPORTED:
            raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                              f"{where}: setting '{key}' is not supported by guiapp's QEMU driver; "
                              f"{UNSUPPORTED[key]}", C.VIR_FROM_QEMU)
        if key not in kinds:  # libvirt ignores settings it does not read
            in_list = raw.startswith("[") and "]" not in raw.split("#", 1)[0]
            continue
        value = _value(raw, where)
        if "bool" in str(kinds[key]):
            if value not in (0, 1) or isinstance(value, str):
                raise _bad(f"{where}: {key} takes 0 or 1, not {raw}")
            value = bool(value)
        elif not isinstance(value, str):
            raise _bad(f"{where}: {key} takes a \"string\", not {raw}")
        values[key] = value
    try:
        return QemuHostConfig(**values)
    except DriverError as exc:
        raise _bad(f"{source}: {exc.detail}") from None


def tls_creds(alias: str, directory: str, *, listen: bool, verify: bool) -> str:
    """An ``-object tls-creds-x509`` value (libvirt's qemuBuildTLSx509BackendProps: a client always verifies
    the server; a server verifies clients when ``verify``)."""
    peer = "on" if (verify or not listen) else "off"
    return (f"tls-creds-x509,id={alias},dir={qemu_escape(tls_dir(directory, 'TLS certificate directory'))},"
            f"endpoint={'server' if listen else 'client'},verify-peer={peer}")


def check_tls_dir(directory: str, setting: str) -> None:
    """The certificate directory must exist when QEMU starts (QEMU reads it when it creates the object)."""
    if not os.path.isdir(directory):
        raise DriverError(C.VIR_ERR_CONFIG_UNSUPPORTED,
                          f"TLS certificate directory '{directory}' ({setting} in qemu.conf) does not exist; "
                          f"create it with ca-cert.pem and the certificates, or change the setting",
                          C.VIR_FROM_QEMU)


def config_path(config_dir: Path) -> Path:
    """Where the settings of a driver whose domain definitions live in ``config_dir`` are."""
    return config_dir.parent / FILE_NAME


def load(config_dir: Path) -> QemuHostConfig:
    """The settings file of the driver with ``config_dir`` (:data:`DEFAULT` when there is none)."""
    path = config_path(config_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return DEFAULT
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(f"cannot read {path}: {exc}") from None
    return parse(text, str(path))


__all__ = ["DEFAULT", "UNSUPPORTED", "QemuHostConfig", "check_tls_dir", "config_path", "load", "parse", "tls_creds",
           "tls_dir"]
