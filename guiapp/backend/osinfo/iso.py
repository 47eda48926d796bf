"""Identify install media: the ISO 9660 primary volume descriptor, matched against osinfo-db's ``<iso>`` regexes.

osinfo-db matches media only on PVD fields (volume, system, publisher and
application ids, volume size), so 2048 bytes at offset 32768 are all we read:
no extra package (pycdlib, ``isoinfo``) is needed, and a hostile image cannot
make us walk its directory tree.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from dataclasses import dataclass
from functools import cache
from typing import Optional

from .. import constants as C
from ..errors import DriverError
from .db import Media, OsEntry, OsInfoDb

SECTOR = 2048
PVD_OFFSET = 16 * SECTOR


@dataclass(frozen=True)
class IsoIdent:
    """The identifying fields of an ISO 9660 primary volume descriptor (trailing blanks stripped)."""

    system_id: str
    volume_id: str
    publisher_id: str
    application_id: str
    volume_size: int  # bytes: logical blocks x block size


def _field(raw: bytes) -> str:
    return raw.decode("latin-1").rstrip(" \x00")


def parse_pvd(block: bytes) -> IsoIdent:
    """Decode a 2048-byte primary volume descriptor; ``ValueError`` if it is not one."""
    if len(block) < SECTOR or block[0] != 1 or block[1:6] != b"CD001":
        raise ValueError("no ISO 9660 primary volume descriptor at sector 16")
    blocks = struct.unpack_from("<I", block, 80)[0]
    block_size = struct.unpack_from("<H", block, 128)[0]
    return IsoIdent(system_id=_field(block[8:40]), volume_id=_field(block[40:72]),
                    publisher_id=_field(block[318:446]), application_id=_field(block[574:702]),
                    volume_size=blocks * block_size)


def read_iso_ident(path: str) -> IsoIdent:
    """Read the PVD of the image or block device at ``path``; clear ``DriverError`` otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise DriverError(C.VIR_ERR_OPEN_FAILED, f"cannot open install media {path!r}: {e.strerror}",
                          C.VIR_FROM_NONE) from None
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
            raise DriverError(C.VIR_ERR_INVALID_ARG,
                              f"install media {path!r} is not a regular file or block device", C.VIR_FROM_NONE)
        block = os.pread(fd, SECTOR, PVD_OFFSET)
    except OSError as e:
        raise DriverError(C.VIR_ERR_READ_FAILED, f"cannot read install media {path!r}: {e.strerror}",
                          C.VIR_FROM_NONE) from None
    finally:
        os.close(fd)
    try:
        return parse_pvd(block)
    except ValueError as e:
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"{path!r} is not an ISO 9660 image: {e}",
                          C.VIR_FROM_NONE) from None


@cache
def _compiled(pattern: str) -> Optional[re.Pattern[str]]:
    """Each osinfo-db pattern compiled once (there are thousands: more than ``re``'s own cache holds)."""
    try:
        return re.compile(pattern)
    except re.error:
        return None  # a broken pattern in the database matches nothing


def regex_matches(pattern: Optional[str], value: str) -> bool:
    """libosinfo's rule: an absent pattern matches anything; a present one is searched (not anchored)."""
    if pattern is None:
        return True
    rx = _compiled(pattern)
    return rx is not None and rx.search(value) is not None


def media_matches(media: Media, ident: IsoIdent) -> bool:
    """Whether ``ident`` satisfies every id regex (and the size, when given) of ``media``."""
    if media.volume_id is None and media.system_id is None and media.publisher_id is None \
            and media.application_id is None:
        return False
    return (regex_matches(media.volume_id, ident.volume_id) and regex_matches(media.system_id, ident.system_id)
            and regex_matches(media.publisher_id, ident.publisher_id)
            and regex_matches(media.application_id, ident.application_id)
            and (media.volume_size is None or media.volume_size == ident.volume_size))


def _specificity(media: Media) -> int:
    return sum(x is not None for x in (media.volume_id, media.system_id, media.publisher_id,
                                       media.application_id, media.volume_size))


def match_ident(db: OsInfoDb, ident: IsoIdent) -> Optional[tuple[OsEntry, Media]]:
    """The OS and media entry best describing ``ident``, or ``None``.

    Most fields matched wins; among equals the newest release (a Windows 11 ISO
    also matches Windows 10's patterns; libosinfo's ``osinfo-detect`` names 11 first too).
    """
    best: Optional[tuple[tuple[int, str], OsEntry, Media]] = None
    for entry in db.oses().values():
        for media in entry.media:
            if media_matches(media, ident):
                score = (_specificity(media), entry.release_date)
                if best is None or score > best[0]:
                    best = (score, entry, media)
    return (best[1], best[2]) if best else None


def detect_iso(db: OsInfoDb, path: str) -> Optional[tuple[OsEntry, Media]]:
    """Read the ISO at ``path`` and match it against ``db``; ``None`` when osinfo-db does not know it."""
    return match_ident(db, read_iso_ident(path))
