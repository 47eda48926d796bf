"""Fixtures for the host side: a private network namespace per test (see ``tests/helpers/netns.py``)."""

from __future__ import annotations

from helpers.netns import netns  # noqa: F401 - fixture
