"""A scripted peer on a unix socket for fault tests: it answers packets with whatever a test says."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Callable, Optional

from guiapp.backend.rpc import protocol

# handler(header, payload, conn) -> bytes to send back (or None: send nothing)
Handler = Callable[[protocol.Header, bytes, socket.socket], Optional[bytes]]


class FakeServer:
    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = str(path)
        self.handler = handler
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.conns: list[socket.socket] = []
        self.received: list[protocol.Header] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        frames = protocol.FrameReader()
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                for header, payload in frames.feed(data):
                    self.received.append(header)
                    out = self.handler(header, payload, conn)
                    if out:
                        conn.sendall(out)
        except OSError:
            return

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
