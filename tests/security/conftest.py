"""Fixtures for the security probes: ``netns`` (a private network namespace per test, tests/fixtures/netns.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (fixtures.netns)

from fixtures.netns import netns  # noqa: E402,F401 - fixture
