"""Synthetic statistics of the test driver: per-domain rates derived from the UUID, counters that are
functions of running time (so a GUI has plausible curves to draw)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from ...xml.domain import DomainDef


class _Profile:
    """Per-run rates of one domain, derived from its UUID; counters are functions of running time.

    A counter is ``R * (t - a*sin(w1*t)/w1 - b*sin(w2*t)/w2)`` with ``a + b < 1``: it
    starts at 0, never decreases, and its rate wobbles between ``(1-a-b)*R`` and
    ``(1+a+b)*R``.  Device counters are built on first use (info() needs only the CPU).
    """

    __slots__ = ("cpu", "_counters", "templates", "_device_counts", "_uuid")

    def __init__(self, uuid: bytes, vcpus_current: int, device_counts: Callable[[], tuple[int, int]]) -> None:
        """``device_counts`` gives (disks, interfaces) of the running definition when the device counters are
        first needed."""
        h = _blake2b(uuid, digest_size=16).digest()
        load = 0.03 + 0.5 * h[5] / 255  # share of each vCPU in use
        self.cpu = _make_wave(load * vcpus_current * 1e9, h, 0)
        self._device_counts = device_counts
        self._uuid = uuid
        self._counters: Optional[tuple[tuple, tuple]] = None
        self.templates: dict[int, tuple[dict[str, Any], tuple[tuple[str, str], ...]]] = {}

    @classmethod
    def of(cls, d: DomainDef) -> _Profile:
        """The profile of the running definition ``d``."""
        return cls(d.uuid, d.vcpus_current, lambda: (len(d.disks), len(d.interfaces)))

    @property
    def counters(self) -> tuple[tuple, tuple]:
        """((block counters), (net counters)); each (bytes key, count key, wave, bytes per request/packet)."""
        if self._counters is None:
            n_disks, n_nics = self._device_counts()
            uuid = self._uuid
            block = []
            for i in range(n_disks):
                h = _blake2b(uuid + b"blk" + i.to_bytes(4, "big"), digest_size=16).digest()
                p = f"block.{i}."
                block.append((p + "rd.bytes", p + "rd.reqs", _make_wave(2e4 + 4e6 * (h[10] / 255) ** 2, h, 0),
                              4096 * (1 + h[11] % 16)))
                block.append((p + "wr.bytes", p + "wr.reqs", _make_wave(1e4 + 2e6 * (h[12] / 255) ** 2, h, 5),
                              4096 * (1 + h[13] % 8)))
            net = []
            for i in range(n_nics):
                h = _blake2b(uuid + b"net" + i.to_bytes(4, "big"), digest_size=16).digest()
                p = f"net.{i}."
                net.append((p + "rx.bytes", p + "rx.pkts", _make_wave(1e3 + 5e5 * (h[10] / 255) ** 2, h, 0),
                            200 + 5 * h[11]))
                net.append((p + "tx.bytes", p + "tx.pkts", _make_wave(5e2 + 2e5 * (h[12] / 255) ** 2, h, 5),
                            100 + 5 * h[13]))
            self._counters = (tuple(block), tuple(net))
        return self._counters


def _blake2b(data: bytes, digest_size: int) -> Any:
    try:  # CPython's own BLAKE2: hashlib would load OpenSSL first (a few ms of every CLI start)
        from _blake2 import blake2b
    except ImportError:  # another Python
        from hashlib import blake2b
    return blake2b(data, digest_size=digest_size)


def _make_wave(rate: float, h: bytes, k: int) -> tuple[float, float, float, float, float]:
    """(rate, a, w1, b, w2) from five bytes of ``h`` starting at ``k``: periods 20-120 s and 3-13 s."""
    return (rate, 0.1 + 0.5 * h[k] / 255, 2 * math.pi / (20 + 100 * h[k + 1] / 255),
            0.05 + 0.25 * h[k + 2] / 255, 2 * math.pi / (3 + 10 * h[k + 3] / 255))


def _wave(w: tuple[float, float, float, float, float], t: float) -> int:
    rate, a, w1, b, w2 = w
    return int(rate * (t - a * math.sin(w1 * t) / w1 - b * math.sin(w2 * t) / w2))

