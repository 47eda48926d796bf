"""Fixtures for the security probes: ``netns`` (a private network namespace per test, tests/helpers/netns.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (fixtures.netns)

from helpers.netns import netns  # noqa: F401 - fixture
