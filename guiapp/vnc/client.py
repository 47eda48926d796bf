"""The Qt side of the RFB engine: a QLocalSocket/QTcpSocket feeding :class:`guiapp.vnc.rfb.RFBClient`.

Lives on the thread that creates it (the UI thread for consoles). ``image`` is a QImage
viewing the protocol's framebuffer without copying; it is replaced on resize.
"""

from __future__ import annotations

import enum
from typing import Optional, Union

from PySide6.QtCore import QObject, QRect, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtNetwork import QAbstractSocket, QLocalSocket, QTcpSocket

from .address import VncAddress
from .rfb import (
    LOCAL_ENCODINGS,
    REMOTE_ENCODINGS,
    AuthenticationError,
    Bell,
    PasswordRequired,
    Resize,
    RFBClient,
    RFBError,
    ServerInit,
    Update,
)


class State(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    AUTHENTICATING = "authenticating"
    CONNECTED = "connected"
    CLOSED = "closed"


class VncClient(QObject):
    """One VNC connection; emits Qt signals for what the protocol reports."""

    connected = Signal(int, int, str)  # width, height, desktop name
    updated = Signal(QRect)  # bounding box of one FramebufferUpdate
    resized = Signal(int, int)
    password_required = Signal()
    auth_failed = Signal(str)
    disconnected = Signal(str)  # reason ("" when closed by us)
    bell = Signal()

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.state = State.IDLE
        self.address: Optional[VncAddress] = None
        self.proto: Optional[RFBClient] = None
        self.image = QImage()
        self._sock: Optional[Union[QLocalSocket, QTcpSocket]] = None
        self._closing = False
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.timeout.connect(lambda: self._fail("timed out waiting for the VNC server"))

    # ----------------------------------------------------------------- public
    def open(self, address: VncAddress, password: Optional[str] = None, timeout_ms: int = 5000) -> None:
        """Start connecting (asynchronous); any previous connection is dropped quietly."""
        self.close(quiet=True)
        self.address = address
        self.proto = RFBClient(password, encodings=LOCAL_ENCODINGS if address.is_unix else REMOTE_ENCODINGS)
        self._closing = False
        self.state = State.CONNECTING
        if address.is_unix:
            sock: Union[QLocalSocket, QTcpSocket] = QLocalSocket(self)
            sock.errorOccurred.connect(self._local_error)
            sock.readyRead.connect(self._read)
            sock.disconnected.connect(self._closed_by_peer)
            sock.connectToServer(address.path)
        else:
            sock = QTcpSocket(self)
            sock.errorOccurred.connect(self._tcp_error)
            sock.readyRead.connect(self._read)
            sock.disconnected.connect(self._closed_by_peer)
            sock.setSocketOption(QAbstractSocket.SocketOption.LowDelayOption, 1)
            sock.connectToHost(address.host, address.port)
        self._sock = sock
        self._timeout.start(timeout_ms)

    def send_password(self, password: str) -> None:
        if self.proto is not None and self.state == State.AUTHENTICATING:
            self.proto.send_password(password)
            self._flush()

    def close(self, quiet: bool = False) -> None:
        """Disconnect; emits ``disconnected("")`` unless ``quiet`` or already closed."""
        self._timeout.stop()
        sock, self._sock = self._sock, None
        was_open = self.state not in (State.IDLE, State.CLOSED)
        self.state = State.CLOSED
        if sock is not None:
            self._closing = True
            for sig in (sock.readyRead, sock.disconnected, sock.errorOccurred):
                try:
                    sig.disconnect()
                except (RuntimeError, TypeError):
                    pass
            sock.abort()
            sock.deleteLater()
        if was_open and not quiet:
            self.disconnected.emit("")

    @property
    def is_connected(self) -> bool:
        return self.state == State.CONNECTED

    def key_event(self, keysym: int, down: bool) -> None:
        if self.proto is not None and self.state == State.CONNECTED:
            self.proto.key_event(keysym, down)
            self._flush()

    def pointer_event(self, x: int, y: int, buttons: int) -> None:
        if self.proto is not None and self.state == State.CONNECTED:
            self.proto.pointer_event(x, y, buttons)
            self._flush()

    def request_full_update(self) -> None:
        if self.proto is not None and self.state == State.CONNECTED:
            self.proto.request_update(incremental=False)
            self._flush()

    # --------------------------------------------------------------- plumbing
    def _flush(self) -> None:
        if self.proto is None or self._sock is None:
            return
        out = self.proto.data_to_send()
        if out:
            self._sock.write(out)
            if isinstance(self._sock, QLocalSocket):
                self._sock.flush()

    def _read(self) -> None:
        sock, proto = self._sock, self.proto
        if sock is None or proto is None:
            return
        data = sock.readAll().data()
        try:
            events = proto.receive(data)
        except AuthenticationError as exc:
            self._fail(str(exc), auth=True)
            return
        except RFBError as exc:
            self._fail(str(exc))
            return
        self._flush()
        for ev in events:
            if isinstance(ev, Update):
                xs = [r[0] for r in ev.rects]
                ys = [r[1] for r in ev.rects]
                x2 = max(r[0] + r[2] for r in ev.rects)
                y2 = max(r[1] + r[3] for r in ev.rects)
                self.updated.emit(QRect(min(xs), min(ys), x2 - min(xs), y2 - min(ys)))
            elif isinstance(ev, Resize):
                self._wrap_image()
                self.resized.emit(ev.width, ev.height)
            elif isinstance(ev, ServerInit):
                self._timeout.stop()
                self.state = State.CONNECTED
                self._wrap_image()
                self.connected.emit(ev.width, ev.height, ev.name)
            elif isinstance(ev, PasswordRequired):
                self._timeout.stop()
                self.state = State.AUTHENTICATING
                self.password_required.emit()
            elif isinstance(ev, Bell):
                self.bell.emit()
            if self._sock is not sock:  # a slot closed or reopened us
                return

    def _wrap_image(self) -> None:
        p = self.proto
        assert p is not None
        self.image = QImage(p.framebuffer, p.width, p.height, p.width * 4, QImage.Format.Format_RGB32)

    def _fail(self, reason: str, auth: bool = False) -> None:
        if self._sock is None:
            return
        self.close(quiet=True)
        if auth:
            self.auth_failed.emit(reason)
        self.disconnected.emit(reason or "connection lost")

    def _closed_by_peer(self) -> None:
        if not self._closing:
            self._fail(f"the VNC server at {self.address} closed the connection")

    def _local_error(self, err: QLocalSocket.LocalSocketError) -> None:
        if err == QLocalSocket.LocalSocketError.PeerClosedError:
            self._closed_by_peer()
            return
        sock = self._sock
        self._fail(f"cannot connect to {self.address}: {sock.errorString() if sock else err}")

    def _tcp_error(self, err: QAbstractSocket.SocketError) -> None:
        if err == QAbstractSocket.SocketError.RemoteHostClosedError:
            self._closed_by_peer()
            return
        sock = self._sock
        self._fail(f"cannot connect to {self.address}: {sock.errorString() if sock else err}")
