"""Fixtures for the model tests: node files on the real test driver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from model_helpers import off_ui

import guiapp.backend as libvirt
from guiapp.models.api import silence_default_error_handler
from guiapp.models.demo import write_node


@pytest.fixture
def node_uri(tmp_path: Path) -> str:
    """12 domains: 6 running, 2 paused, 4 shut off."""
    return write_node(tmp_path / "node.xml", 12, running=0.5, paused=2)


@pytest.fixture
def conn(node_uri: str) -> Iterator[Any]:
    silence_default_error_handler()
    c = off_ui(lambda: libvirt.open(node_uri))
    yield c
    off_ui(c.close)
