"""What the desktop manager imports before its window shows (issue 16: the first rows of a big list wait for it).

Times are measured by ``bench/gui.py`` (never asserted here); this pins the imports a quick start depends on:
dialogs and windows opened later load when first used, so a new eager import shows up as a failing test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Loaded on first use, not by the main window's module: the storage window (and its XML model and CLI
#: helpers), the clone model, the RFB engine (the list only needs the VNC address helpers).
NOT_BEFORE_THE_WINDOW = (
    "guiapp.views.storage", "guiapp.views.storage.window", "guiapp.backend.xml.storage",
    "guiapp.backend.cli_storage", "guiapp.backend.clone", "guiapp.vnc.rfb",
)


def test_the_main_window_module_loads_no_later_window():
    code = ("import json, sys; import guiapp.views.main_window; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('guiapp'))))")
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "guiapp.vnc.address" in loaded and "guiapp.views.main_window.domain_ops" in loaded  # the probe works
    assert not loaded & set(NOT_BEFORE_THE_WINDOW)


def test_the_vnc_package_still_offers_its_names():
    import guiapp.vnc as vnc
    from guiapp.vnc.address import VncAddress
    from guiapp.vnc.rfb import RFBClient

    assert (vnc.RFBClient, vnc.VncAddress) == (RFBClient, VncAddress)
    assert all(getattr(vnc, name) is not None for name in vnc.__all__)
