"""The remote driver's stream ends: an :class:`rpc.stream.RemoteStream` as the front-end's ``virStream`` drives it.

One mechanism (:mod:`guiapp.backend.rpc.stream`) carries volume uploads/downloads and text consoles; this
module only opens it and reports its failures as the ``DriverError`` the front-end raises (the daemon's own
code, domain and message unchanged).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from ... import constants as C
from ...errors import DriverError
from ...rpc.client import Client, ConnectionClosed, RemoteError, RPCError
from ...rpc.protocol import procedure
from ...rpc.stream import Direction, RemoteStream


@contextlib.contextmanager
def converted() -> Iterator[None]:
    """The RPC layer's errors as the DriverError the front-end reports (the daemon's own code unchanged)."""
    try:
        yield
    except RemoteError as exc:
        e = exc.error
        raise DriverError.from_record((e["code"], e["domain"], e["message"], e["level"], e["str1"], e["str2"],
                                       e["str3"], e["int1"], e["int2"])) from None
    except ConnectionClosed as exc:
        raise DriverError(C.VIR_ERR_SYSTEM_ERROR, f"the connection to the daemon was lost: {exc}",
                          C.VIR_FROM_RPC) from None
    except RPCError as exc:  # also CallTimeout
        raise DriverError(C.VIR_ERR_RPC, str(exc), C.VIR_FROM_RPC) from None


class StreamEnd:
    """A stream over the wire as the front-end's virStream drives it (write/read/finish/abort)."""

    def __init__(self, stream: RemoteStream) -> None:
        self.stream = stream

    def write(self, data: bytes) -> None:
        with converted():
            self.stream.write(data)

    def read(self, nbytes: int) -> bytes:
        with converted():
            return self.stream.read(nbytes)

    def finish(self) -> None:
        with converted():
            self.stream.finish()

    def abort(self) -> None:
        with converted():
            self.stream.abort()


def open_stream(client: Client, proc_name: str, args: Any, direction: Direction) -> StreamEnd:
    """Call a stream procedure (STORAGE_VOL_UPLOAD, DOMAIN_OPEN_CONSOLE …) and return its stream end."""
    if not client.is_alive():
        raise DriverError(C.VIR_ERR_INVALID_CONN, f"client socket is closed: {client.closed_reason}", C.VIR_FROM_RPC)
    stream = RemoteStream(client, procedure(proc_name), direction)
    with converted():
        stream.open(args)
    return StreamEnd(stream)
