"""Remote driver fixtures: a private Debian libvirtd and a throwaway sshd (tests/helpers/)."""

import importlib.util
import sys
from pathlib import Path

from helpers import tinyguest as _tg  # the module every tiny_guest user shares (one build cache)


def _load(stem: str):  # without putting tests/ on sys.path for everyone
    name = f"guiapp_tests_{stem}"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[3] / "helpers" / f"{stem}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_lv = _load("libvirtd")
_ssh = _load("sshd")
libvirtd = _lv.libvirtd
own_libvirtd = _lv.own_libvirtd
sshd = _ssh.sshd
tiny_guest = _tg.tiny_guest
