"""Test-wide settings: Qt offscreen, isolated XDG directories, no stray default URI."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
