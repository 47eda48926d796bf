"""Escaping text for XML written as strings (what ``xml.sax.saxutils`` offers, without importing
``urllib.request``, ``http.client`` and ``email`` with it: command-line start-up time)."""

from __future__ import annotations

from typing import Optional


def escape(data: str, entities: Optional[dict[str, str]] = None) -> str:
    """``&``, ``<`` and ``>`` as entities, then each key of ``entities`` replaced by its value."""
    data = data.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    for key, value in (entities or {}).items():
        data = data.replace(key, value)
    return data


def quoteattr(data: str) -> str:
    """``data`` escaped and quoted as an attribute value (double quotes unless it holds only those)."""
    data = escape(data, {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})
    if '"' in data:
        if "'" in data:
            return '"' + data.replace('"', "&quot;") + '"'
        return "'" + data + "'"
    return '"' + data + '"'


__all__ = ["escape", "quoteattr"]
