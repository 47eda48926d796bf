"""OS knowledge from Debian's ``osinfo-db``: the OS list, install-media detection and per-OS defaults (no Qt)."""

from .db import OsEntry, OsInfoDb, default_db
from .defaults import OsDefaults, os_defaults
from .iso import IsoIdent, detect_iso, read_iso_ident

__all__ = ["IsoIdent", "OsDefaults", "OsEntry", "OsInfoDb", "default_db", "detect_iso", "os_defaults",
           "read_iso_ident"]
