"""What the main window does to domains: actions on the selection (one job, or one bulk job with progress),
save/restore, delete with disks, consoles and external viewers (a mixin of MainWindow)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QMainWindow

from guiapp.backend.uri import uri_is_local

from ...jobs import Job, JobRunner
from ...models.api import ACTIVE_STATES
from ...models.connections import ConnectionManager
from ...models.stats import DomainRow
from ..confirm import confirm
from ..errors import ErrorDialog
from .actions import OPS
from .delete_dialog import DeleteDialog
from .delete_storage import DiskChoice, delete_disks, plan_disks
from .selection import Selected

if TYPE_CHECKING:
    _Base = QMainWindow
else:
    _Base = object


class DomainOperations(_Base):
    """Run actions, long jobs and dialogs for the selected domains; errors go to :meth:`show_error`."""

    runner: JobRunner
    manager: ConnectionManager
    settings: Optional[QSettings]
    ask_save_dir: Callable[[], Optional[str]]
    ask_restore_file: Callable[[str], Optional[str]]
    confirm_box: Any
    clone_dialog: Any
    delete_dialog: Any

    if TYPE_CHECKING:  # provided by SelectionAndFilter and MainWindow (stubs here would shadow them)
        def selected_domains(self) -> Selected: ...

        def selected_connection(self) -> Optional[str]: ...

        def _read_only_uuids(self, sel: Selected) -> frozenset: ...

        def open_details(self, uri: str, uuid: bytes) -> Any: ...

        def show_error(self, exc: BaseException, *, operation: str = "", uri: str = "",
                       title: str = "") -> ErrorDialog: ...

    def run_action(self, key: str, sel: Optional[Selected] = None) -> None:
        """Run action ``key`` on the selected domains (or on ``sel``: the VM window's one domain)."""
        sel = self.selected_domains() if sel is None else sel
        if key == "details":
            for uri, row in sel[:8]:
                self.open_details(uri, row.uuid)
            return
        if key == "save":
            self.save_domains(sel)
            return
        if key == "delete":
            self.delete_domains(sel)
            return
        if key == "clone":
            from .clone_dialog import open_clone_dialog  # the clone model: loaded when first used

            self.clone_dialog = open_clone_dialog(self, *sel[0])  # type: ignore[arg-type]  # self is the MainWindow if len(sel) == 1 else None
            return
        if key == "console":
            self.open_consoles(sel)
            return
        if key == "external":
            self.open_external_viewers(sel)
            return
        op = OPS[key]
        if op.call is None:
            return
        read_only = self._read_only_uuids(sel)
        targets = [(uri, row) for uri, row in sel if row.state in op.states and row.uuid not in read_only]
        verb = op.label.replace("&", "").rstrip("…")
        if targets and key in ("destroy", "reboot"):
            names = ", ".join(f"'{r.name}'" for _u, r in targets[:5]) + ("…" if len(targets) > 5 else "")
            what = ("Power off at once, without a guest shutdown (unsaved data in the guests is lost)"
                    if key == "destroy" else "Ask the guests to reboot")
            self.confirm_box = confirm(self, self.settings, key, f"{what}: {names}?",
                                       lambda: self._run_op(targets, verb, op))
            return
        self._run_op(targets, verb, op)

    def _run_op(self, targets: Selected, verb: str, op: Any) -> None:
        if len(targets) == 1:
            self.domain_job(*targets[0], verb, op.api, op.call, long=op.long)
        elif targets:
            self.bulk_job(targets, verb, op.api, op.call)

    def bulk_job(self, targets: Selected, verb: str, api: str, fn: Callable[[Any], Any]) -> Optional[Job]:
        """One long job calling ``fn(virDomain)`` for every target on the pool, with progress; one error dialog."""
        conns = {uri: self.manager.conn(uri) for uri, _r in targets}
        items = [(uri, row.uuid, row.name) for uri, row in targets if conns.get(uri) is not None]
        if not items:
            return None
        total = len(items)

        def work(ctx: Any) -> list[tuple[str, str, BaseException]]:
            failures: list[tuple[str, str, BaseException]] = []
            step = max(1, total // 50)
            for k, (uri, uuid, name) in enumerate(items):
                try:
                    fn(conns[uri].lookupByUUID(uuid))
                except Exception as exc:  # reported together below; the others go on
                    failures.append((uri, name, exc))
                if k % step == 0 or k == total - 1:
                    ctx.progress(100 * (k + 1) // total, f"{k + 1} of {total}")
                ctx.pace()
            return failures

        def done(failures: list[tuple[str, str, BaseException]]) -> None:
            for uri in conns:  # their state events came already; this samples just these domains once more
                self.manager.poll_now(uri, [uuid for u, uuid, _n in items if u == uri])
            if failures:
                uri, name, exc = failures[0]
                more = "" if len(failures) == 1 else f" (and {len(failures) - 1} more: " + ", ".join(
                    f"'{n}'" for _u, n, _e in failures[1:6]) + ("…" if len(failures) > 6 else "") + ")"
                self.show_error(exc, operation=f"{api} ('{name}')", uri=uri,
                                title=f"{verb} failed for '{name}'{more}")
            self.statusBar().showMessage(f"{verb}: {total - len(failures)} of {total} done", 5000)

        return self.runner.submit(f"{verb} {total} domains", work, uri=items[0][0], operation=api, long=True,
                                  takes_context=True, on_result=done,
                                  on_error=lambda exc: self.show_error(exc, operation=api))

    def open_consoles(self, sel: Selected) -> None:
        """One console window per selected running domain (at most 4 at a time); lookups run on the pool."""
        from ..console import open_console
        for uri, row in [(u, r) for u, r in sel if r.state in OPS["console"].states][:4]:
            conn = self.manager.conn(uri)
            if conn is None:
                continue
            open_console(lambda c=conn, u=row.uuid: c.lookupByUUID(u), runner=self.runner, settings=self.settings,
                         key=(uri, row.uuid), title=row.name)

    def open_external_viewers(self, sel: Selected) -> None:
        """Start the configured VNC viewer for each selected running domain (at most 4); errors in the dialog."""
        from ...vnc.address import console_target
        from ..console import external

        for uri, row in [(u, r) for u, r in sel if r.state in OPS["external"].states][:4]:
            conn = self.manager.conn(uri)
            if conn is None:
                continue
            name = row.name

            def launch(target: Any, uri: str = uri, name: str = name) -> None:
                try:
                    pid = external.launch(external.viewer_command(self.settings), target.address, name)
                except external.ViewerError as exc:
                    self.show_error(exc, operation="Open in External Viewer", uri=uri,
                                    title=f"Cannot open the external viewer for '{name}'")
                    return
                self.statusBar().showMessage(f"Started the external viewer for '{name}' (pid {pid})", 5000)

            def failed(exc: BaseException, uri: str = uri, name: str = name) -> None:
                self.show_error(exc, operation=f"virDomainGetXMLDesc ('{name}')", uri=uri,
                                title=f"Cannot open the external viewer for '{name}'")

            self.runner.submit(f"Find the screen of {name}",
                               lambda c=conn, u=row.uuid: console_target(c.lookupByUUID(u)), uri=uri,
                               operation="virDomainGetXMLDesc", on_result=launch, on_error=failed)

    def domain_job(self, uri: str, row: DomainRow, verb: str, api: str, fn: Callable[[Any], Any],
                   long: bool = False, on_result: Optional[Callable[[Any], Any]] = None) -> Optional[Job]:
        """Run ``fn(virDomain)`` on the pool for one domain; errors open the error dialog."""
        conn = self.manager.conn(uri)
        if conn is None:
            return None
        uuid, name = row.uuid, row.name

        def work() -> Any:
            return fn(conn.lookupByUUID(uuid))

        def ok(result: Any) -> None:
            self.manager.poll_now(uri)
            if on_result is not None:
                on_result(result)

        def failed(exc: BaseException) -> None:
            self.manager.poll_now(uri)
            self.show_error(exc, operation=f"{api} ('{name}')", uri=uri, title=f"{verb} '{name}' failed")

        return self.runner.submit(f"{verb} {name}", work, uri=uri, operation=api, long=long,
                                  on_result=ok, on_error=failed)

    def save_domains(self, sel: Selected) -> None:
        read_only = self._read_only_uuids(sel)
        targets = [(u, r) for u, r in sel if r.state in OPS["save"].states and r.uuid not in read_only]
        if not targets:
            return
        folder = self.ask_save_dir()
        if not folder:
            return

        def save_all() -> None:
            for uri, row in targets:
                path = os.path.join(folder, f"{row.name}.save")

                def save(dom: Any, path: str = path) -> Any:
                    return dom.save(path)
                self.domain_job(uri, row, "Save", "virDomainSave", save, long=True)
        existing = [f"{r.name}.save" for _u, r in targets if os.path.exists(os.path.join(folder, f"{r.name}.save"))]
        if existing:
            self.confirm_box = confirm(self, self.settings, "save_overwrite",
                                       f"Overwrite {', '.join(existing[:5])}{'…' if len(existing) > 5 else ''} "
                                       f"in {folder}?", save_all)
            return
        save_all()

    def restore_domain(self) -> None:
        uri = self.selected_connection()
        conn = self.manager.conn(uri) if uri else None
        if uri is None or conn is None:
            return
        path = self.ask_restore_file(uri)
        if not path:
            return
        self.runner.submit(f"Restore {os.path.basename(path)}", lambda: conn.restore(path), uri=uri,
                           operation="virDomainRestore", long=True,
                           on_result=lambda _r: self.manager.poll_now(uri),
                           on_error=lambda exc: self.show_error(exc, operation=f"virDomainRestore ('{path}')",
                                                                uri=uri, title="Restore failed"))

    def delete_domains(self, sel: Selected) -> None:
        """Read the definitions (for their disks) on the pool, then ask for confirmation."""
        read_only = self._read_only_uuids(sel)
        sel = [(u, r) for u, r in sel if r.uuid not in read_only]
        if not sel:
            return
        conns = {uri: self.manager.conn(uri) for uri, _r in sel}
        items = [(uri, row.uuid, row.name, row.state) for uri, row in sel if conns.get(uri) is not None]

        def work() -> dict[str, list[DiskChoice]]:
            disks: dict[str, list[DiskChoice]] = {}
            for uri in dict.fromkeys(u for u, *_ in items):
                disks.update(plan_disks(conns[uri], [(uuid, n) for u, uuid, n, _s in items if u == uri]))
            return disks

        def ask(disks: dict[str, list[DiskChoice]]) -> None:
            names = [n for _u, _id, n, _s in items]
            active = [n for _u, _id, n, s in items if s in ACTIVE_STATES]
            local = all(uri_is_local(u) for u, *_ in items)
            dialog = DeleteDialog(names, disks, active, self, local=local)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.confirmed.connect(lambda paths: self._do_delete(items, conns, disks, paths))
            self.delete_dialog = dialog
            dialog.open()

        self.runner.submit("Read definitions", work, on_result=ask,
                           on_error=lambda exc: self.show_error(exc, operation="virDomainGetXMLDesc"))

    def _do_delete(self, items: list[tuple[str, bytes, str, int]], conns: dict[str, Any],
                   disks: dict[str, list[DiskChoice]], paths: list[str]) -> None:
        """One long job: force off and undefine each domain, then delete the chosen disks of those deleted."""
        chosen = set(paths)

        def work() -> tuple[list[tuple[str, str, BaseException]], list[str]]:
            failures: list[tuple[str, str, BaseException]] = []
            file_errors: list[str] = []
            for uri, uuid, name, state in items:
                try:
                    dom = conns[uri].lookupByUUID(uuid)
                    if state in ACTIVE_STATES and dom.isActive():
                        dom.destroy()
                    dom.undefine()
                except Exception as exc:  # reported per domain below; the others go on
                    failures.append((uri, name, exc))
                    continue
                picked = [d for d in disks.get(name, []) if d.path in chosen]
                file_errors += delete_disks(conns[uri], picked, uri_is_local(uri))
                chosen.difference_update(d.path for d in picked)  # a disk listed twice is deleted once
            return failures, file_errors

        def done(res: tuple[list[tuple[str, str, BaseException]], list[str]]) -> None:
            failures, file_errors = res
            for uri in {u for u, *_ in items}:
                self.manager.poll_now(uri)
            for uri, name, exc in failures:
                self.show_error(exc, operation=f"virDomainUndefine ('{name}')", uri=uri,
                                title=f"Delete '{name}' failed")
            if file_errors:
                self.show_error(OSError("Some disks could not be removed:\n" + "\n".join(file_errors)),
                                operation="virStorageVolDelete")

        title = f"Delete {items[0][2]}" if len(items) == 1 else f"Delete {len(items)} domains"
        self.runner.submit(title, work, uri=items[0][0] if items else "", operation="virDomainUndefine", long=True,
                           on_result=done, on_error=lambda exc: self.show_error(exc, operation="virDomainUndefine"))

    def run_hint_action(self, uri: str, kind: str, name: str) -> None:
        """The "What you can do" button of an error: start the network or domain it names, as a job."""
        conn = self.manager.conn(uri)
        if conn is None:
            return
        if kind == "start-network":
            api, work = "virNetworkCreate", (lambda: conn.networkLookupByName(name).create())
        elif kind == "start-domain":
            api, work = "virDomainCreate", (lambda: conn.lookupByName(name).create())
        else:
            return

        def done(_result: object) -> None:
            self.manager.poll_now(uri)
            self.statusBar().showMessage(f"Started '{name}'", 5000)

        self.runner.submit(f"Start '{name}'", work, uri=uri, operation=api, on_result=done,
                           on_error=lambda exc: self.show_error(exc, operation=f"{api} ('{name}')", uri=uri))


    def _ask_save_dir(self) -> Optional[str]:
        return QFileDialog.getExistingDirectory(self, "Save the domains' state into folder") or None

    def _ask_restore_file(self, uri: str) -> Optional[str]:
        path, _f = QFileDialog.getOpenFileName(self, f"Restore a saved domain on {uri}")
        return path or None
