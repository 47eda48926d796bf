"""The console window: live guest screen, Send Key, scaling, full screen, screenshot, password, reconnect."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, Optional

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QLineEdit, QMainWindow, QMenu, QMessageBox, QWidget

from ...backend.constants import VIR_ERR_NO_DOMAIN
from ...jobs import CONSOLE_POOL
from ...models import preferences as prefs
from ...vnc.address import ConsoleTarget, NoConsoleError, console_target
from ...vnc.client import VncClient
from ...vnc.keysyms import SEND_KEYS
from . import external
from .widget import RELEASE_SHORTCUT, Scaling, VncView

RETRY_DELAYS_MS = (250, 500, 1000, 2000)  # reconnect backoff; the last one repeats while the window is open


def hint_grab(combo_label: str = RELEASE_SHORTCUT) -> str:
    return f"Click in the console to send it the keyboard and mouse; {combo_label} releases them"


def hint_grabbed(combo_label: str = RELEASE_SHORTCUT) -> str:
    return f"Keyboard and mouse grabbed by the guest: press {combo_label} to release"


HINT_GRAB = hint_grab()
HINT_GRABBED = hint_grabbed()

_open_windows: dict[Any, ConsoleWindow] = {}


class _Relay(QObject):
    """Carries a resolver thread's result to the UI thread."""

    done = Signal(int, object)
    failed = Signal(int, object)


class ConsoleWindow(QMainWindow):
    """A VNC console for one domain. ``resolver`` (run off the UI thread) returns its :class:`ConsoleTarget`."""

    closed = Signal()
    state_changed = Signal(str)  # "resolving", "connecting", "password", "connected", "disconnected"

    def __init__(self, resolver: Callable[[], ConsoleTarget], *, title: str = "", runner: Any = None,
                 settings: Optional[QSettings] = None, password: Optional[str] = None,
                 parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.resolver = resolver
        self.runner = runner
        self.settings = settings
        self.domain_name = title
        self.target: Optional[ConsoleTarget] = None
        self.state = "idle"
        self.password = password
        self.password_dialog: Optional[QInputDialog] = None
        self.last_error = ""
        self.connects = 0  # successful connections (reconnects included)
        self._gen = 0
        self._retry = 0
        self._closing = False
        self._relay = _Relay(self)
        self._relay.done.connect(self._resolved)
        self._relay.failed.connect(self._resolve_failed)
        self.client = VncClient(self)
        self.view = VncView(self.client, self)
        self.setCentralWidget(self.view)
        self.setWindowTitle(f"{title} - Console" if title else "Console")
        self.retry_timer = QTimer(self)
        self.retry_timer.setSingleShot(True)
        self.retry_timer.timeout.connect(self.reconnect)
        self.client.connected.connect(self._on_connected)
        self.client.disconnected.connect(self._on_disconnected)
        self.client.password_required.connect(self._ask_password)
        self.client.auth_failed.connect(self._on_auth_failed)
        self.client.resized.connect(self._on_resized)
        self.view.grab_changed.connect(self._on_grab)
        self._build_actions()
        self.hint = QLabel(HINT_GRAB)
        self.hint.setObjectName("grabHint")
        self.statusBar().addPermanentWidget(self.hint)
        self.resize(760, 480)
        self.apply_preferences()
        prefs.notifier().console_changed.connect(self.apply_preferences)

    # ----------------------------------------------------------------- actions
    def _build_actions(self) -> None:
        tb = self.addToolBar("Console")
        tb.setObjectName("consoleToolbar")
        self.send_key_menu = QMenu("Send &Key", self)
        self.send_key_actions: dict[str, QAction] = {}
        for label, keys in SEND_KEYS:
            act = self.send_key_menu.addAction(label)
            act.triggered.connect(lambda _c=False, k=keys: self.view.send_keys(k))
            self.send_key_actions[label] = act
        self.act_send_key = self.send_key_menu.menuAction()
        tb.addAction(self.act_send_key)
        self.act_screenshot = QAction("&Screenshot…", self)
        self.act_screenshot.triggered.connect(self.ask_screenshot)
        self.act_fit = QAction("Scale to &window", self, checkable=True, checked=True)
        self.act_one = QAction("&1:1 (no scaling)", self, checkable=True)
        group = QActionGroup(self)
        for a in (self.act_fit, self.act_one):
            group.addAction(a)
        self.act_fit.triggered.connect(lambda: self.set_scaling(Scaling.FIT))
        self.act_one.triggered.connect(lambda: self.set_scaling(Scaling.ONE_TO_ONE))
        self.act_fullscreen = QAction("&Full screen", self, checkable=True)
        self.act_fullscreen.setShortcut(QKeySequence("F11"))
        self.act_fullscreen.toggled.connect(self.set_full_screen)
        self.act_external = QAction("Open in &external viewer", self)
        self.act_external.triggered.connect(self.open_external)
        self.act_reconnect = QAction("&Reconnect", self)
        self.act_reconnect.triggered.connect(self.manual_reconnect)
        # short toolbar labels: all buttons fit the default width (the menus keep the full texts)
        for act, short in ((self.act_screenshot, "Screenshot"), (self.act_fit, "Fit"), (self.act_one, "1:1"),
                           (self.act_external, "External")):
            act.setIconText(short)
            act.setToolTip(act.text().replace("&", "").rstrip("…"))
        # Ctrl+W closes (not Escape: the guest needs it); while the keyboard is grabbed the guest gets it
        self.act_close = QAction("&Close", self)
        self.act_close.setShortcuts(QKeySequence.StandardKey.Close)  # all bindings: Ctrl+W and Ctrl+F4
        self.act_close.triggered.connect(self.close)
        self.addAction(self.act_close)  # a window shortcut, whichever child has the focus
        for a in (self.act_screenshot, self.act_fit, self.act_one, self.act_fullscreen, self.act_external,
                  self.act_reconnect):
            tb.addAction(a)
        view = self.menuBar().addMenu("&View")
        view.addActions([self.act_fit, self.act_one, self.act_fullscreen])
        self.menuBar().addMenu(self.send_key_menu)
        console = self.menuBar().addMenu("&Console")
        console.addActions([self.act_screenshot, self.act_external, self.act_reconnect])
        console.addSeparator()
        console.addAction(self.act_close)
        self._update_actions()

    def _update_actions(self) -> None:
        on = self.state == "connected"
        self.act_send_key.setEnabled(on)
        self.act_screenshot.setEnabled(on)
        self.act_external.setEnabled(self.target is not None)

    def _set_state(self, state: str, message: str = "") -> None:
        self.state = state
        self.hint.setVisible(state == "connected")  # no grab hint next to (and overlapping) a failure text
        self.view.set_message(message)
        self._update_actions()
        self.state_changed.emit(state)

    # -------------------------------------------------------------- connecting
    def start(self) -> None:
        """Resolve the address (off the UI thread), then connect."""
        self.reconnect()

    def reconnect(self) -> None:
        if self._closing:
            return
        self._gen += 1
        gen = self._gen
        self._set_state("resolving", self.view.message or "Connecting…")
        resolver, relay = self.resolver, self._relay

        def work() -> ConsoleTarget:
            return resolver()

        if self.runner is not None:
            self.runner.submit(f"Console address of {self.domain_name}", work,
                               on_result=lambda t, g=gen: self._resolved(g, t),
                               on_error=lambda e, g=gen: self._resolve_failed(g, e), owner=self, pool=CONSOLE_POOL)
            return

        def run() -> None:
            try:
                try:
                    result = work()
                except BaseException as exc:
                    relay.failed.emit(gen, exc)
                else:
                    relay.done.emit(gen, result)
            except RuntimeError:  # the window (and its relay) was deleted meanwhile: nobody to tell
                pass

        threading.Thread(target=run, name="console-resolve", daemon=True).start()

    def manual_reconnect(self) -> None:
        self._retry = 0
        self.retry_timer.stop()
        self.client.close(quiet=True)
        self.reconnect()

    def _resolved(self, gen: int, target: ConsoleTarget) -> None:
        if gen != self._gen or self._closing:
            return
        self.target = target
        self._set_state("connecting", self.view.message)
        self.client.open(target.address, self.password)

    def _resolve_failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._gen or self._closing:
            return
        if _domain_gone(exc):  # deleted (or undefined while off): retrying cannot help
            self.retry_timer.stop()
            self.last_error = f"The domain {self.domain_name} no longer exists; this console will not reconnect."
            self._set_state("gone", self.last_error)
            self.statusBar().clearMessage()
            return
        text = str(exc) if isinstance(exc, NoConsoleError) else f"Cannot find the console: {exc}"
        self._schedule_retry(text)

    def _schedule_retry(self, text: str) -> None:
        self.last_error = text
        delay = RETRY_DELAYS_MS[min(self._retry, len(RETRY_DELAYS_MS) - 1)]
        self._retry += 1
        self._set_state("disconnected", f"{text}\nRetrying…")
        self.statusBar().showMessage(text, 5000)
        self.retry_timer.start(delay)

    def _on_connected(self, width: int, height: int, name: str) -> None:
        self._retry = 0
        self.connects += 1
        self.last_error = ""
        self.statusBar().clearMessage()  # the retry text of the last failure is stale now
        self._set_state("connected", "")
        if self.connects == 1:
            self._fit_window()

    def _on_disconnected(self, reason: str) -> None:
        if self._closing:
            return
        self.view.set_grab(False)
        self._schedule_retry(reason or "Disconnected")

    def _on_resized(self, width: int, height: int) -> None:
        if self.view.scaling == Scaling.ONE_TO_ONE and not self.isFullScreen():
            self._fit_window()

    def _fit_window(self) -> None:
        fb = self.view.framebuffer_size()
        if fb.width() <= 0 or self.isFullScreen():
            return
        extra_w = self.width() - self.view.width()
        extra_h = self.height() - self.view.height()
        screen = self.screen().availableGeometry() if self.screen() else None
        w, h = fb.width() + extra_w, fb.height() + extra_h
        if screen is not None:
            w, h = min(w, screen.width()), min(h, screen.height())
        self.resize(w, h)

    # ---------------------------------------------------------------- password
    def _ask_password(self) -> None:
        self._set_state("password", "This console needs a VNC password")
        dlg = QInputDialog(self)
        dlg.setObjectName("vncPasswordDialog")
        dlg.setWindowTitle("VNC password")
        dlg.setLabelText(f"Password for the console of {self.domain_name or 'this domain'}:")
        dlg.setTextEchoMode(QLineEdit.EchoMode.Password)
        dlg.textValueSelected.connect(self._password_given)
        dlg.rejected.connect(self._password_refused)
        self.password_dialog = dlg
        dlg.open()

    def _password_given(self, text: str) -> None:
        self.password_dialog = None
        self.password = text
        self._set_state("connecting", "Checking the password…")
        self.client.send_password(text)

    def _password_refused(self) -> None:
        self.password_dialog = None
        self.client.close(quiet=True)
        self._set_state("disconnected", "A password is needed to see this console.\nUse Reconnect to try again.")

    def _on_auth_failed(self, reason: str) -> None:
        self.password = None  # ask again on the next attempt
        self.statusBar().showMessage(f"Wrong VNC password: {reason}", 5000)

    # ------------------------------------------------------------------- view
    def set_scaling(self, scaling: Scaling) -> None:
        self.view.set_scaling(scaling)
        (self.act_fit if scaling == Scaling.FIT else self.act_one).setChecked(True)
        if scaling == Scaling.ONE_TO_ONE:
            self._fit_window()

    def set_full_screen(self, on: bool) -> None:
        if on and not self.isFullScreen():
            self.showFullScreen()
        elif not on and self.isFullScreen():
            self.showNormal()
        if self.act_fullscreen.isChecked() != on:
            self.act_fullscreen.setChecked(on)

    def _on_grab(self, grabbed: bool) -> None:
        label = prefs.GRAB_COMBOS[self.view.release_combo]
        self.hint.setText(hint_grabbed(label) if grabbed else hint_grab(label))

    def apply_preferences(self) -> None:
        """Take the scaling and the grab-release keys from Preferences (at open and whenever they change)."""
        self.view.set_release_combo(prefs.grab_combo(self.settings))
        self._on_grab(self.view.grabbed)
        scaling = Scaling(prefs.console_scaling(self.settings))
        if scaling != self.view.scaling:
            self.set_scaling(scaling)

    # -------------------------------------------------------------- screenshot
    def screenshot(self) -> QImage:
        """A copy of the guest screen as it is now (null when not connected)."""
        img = self.client.image
        return img.copy() if not img.isNull() else QImage()

    def save_screenshot(self, path: str) -> None:
        """Write the guest screen to ``path`` as PNG (raises OSError with a readable message)."""
        img = self.screenshot()
        if img.isNull():
            raise OSError("the console is not connected: there is no screen to save")
        if not img.save(path, "PNG"):
            raise OSError(f"cannot write {path}: check the folder exists and is writable")

    def default_screenshot_path(self) -> str:
        base = os.path.expanduser("~/Pictures")
        if not os.path.isdir(base):
            base = os.path.expanduser("~")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return os.path.join(base, f"{self.domain_name or 'console'}-{stamp}.png")

    def ask_screenshot(self) -> None:
        dlg = QFileDialog(self, "Save screenshot", self.default_screenshot_path(), "PNG images (*.png)")
        dlg.setObjectName("screenshotDialog")
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setDefaultSuffix("png")
        dlg.fileSelected.connect(self._save_selected)
        self.screenshot_dialog = dlg
        dlg.open()

    def _save_selected(self, path: str) -> None:
        try:
            self.save_screenshot(path)
        except OSError as exc:
            self._error("Screenshot not saved", str(exc))
        else:
            self.statusBar().showMessage(f"Screenshot saved to {path}", 5000)

    # --------------------------------------------------------- external viewer
    def open_external(self) -> Optional[int]:
        """Launch the configured external viewer on this console's address; returns its pid."""
        if self.target is None:
            self._error("No console address", self.last_error or "the console address is not known yet")
            return None
        try:
            pid = external.launch(external.viewer_command(self.settings), self.target.address, self.domain_name)
        except external.ViewerError as exc:
            self._error("Cannot open the external viewer", str(exc))
            return None
        self.statusBar().showMessage(f"Started the external viewer (pid {pid})", 5000)
        return pid

    def _error(self, title: str, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("consoleError")
        self.error_box = box
        box.open()

    # ------------------------------------------------------------------ close
    def closeEvent(self, event: QCloseEvent) -> None:
        self._closing = True
        try:
            prefs.notifier().console_changed.disconnect(self.apply_preferences)
        except (RuntimeError, TypeError):
            pass
        self._gen += 1
        self.retry_timer.stop()
        self.view.set_grab(False)
        self.client.close(quiet=True)
        for key, win in list(_open_windows.items()):
            if win is self:
                del _open_windows[key]
        self.closed.emit()
        super().closeEvent(event)


def _domain_gone(exc: BaseException) -> bool:
    """Whether a console lookup failed because the domain does not exist (any more)."""
    code = getattr(exc, "get_error_code", None)
    return callable(code) and code() == VIR_ERR_NO_DOMAIN


def open_console(domain: Any, *, runner: Any = None, settings: Optional[QSettings] = None,
                 password: Optional[str] = None, key: Any = None, title: str = "",
                 parent: Optional[QWidget] = None, show: bool = True) -> ConsoleWindow:
    """Open (or raise) the console of ``domain``: a virDomain, or a callable returning one (called off the UI thread).

    ``key`` (e.g. ``(uri, uuid)``) makes a second call for the same domain raise the open window;
    ``runner`` (a :class:`guiapp.jobs.JobRunner`) runs the address lookups, else a private thread does.
    """
    if key is not None and key in _open_windows:
        win = _open_windows[key]
        win.show()
        win.raise_()
        win.activateWindow()
        return win
    get_dom: Callable[[], Any] = domain if callable(domain) else (lambda: domain)
    if not title and not callable(domain):
        title = domain.name()  # virDomain.name() needs no driver call

    def resolve() -> ConsoleTarget:
        return console_target(get_dom())

    win = ConsoleWindow(resolve, title=title, runner=runner, settings=settings, password=password, parent=parent)
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    if key is not None:
        _open_windows[key] = win
    if show:
        win.show()
    win.start()
    if runner is not None:  # Graphics / Serial switch when the domain has a text console (views/console/serial.py)
        from .serial import offer_serial
        offer_serial(win, get_dom, runner)
    return win
