"""Helpers for the model tests."""

from __future__ import annotations

from helpers.threads import off_ui  # noqa: F401 - re-exported: the model tests import it from here
