"""Install trees for tests: a .treeinfo tree or a Debian mirror layout on disk, served by a stdlib HTTP server.

``TreeServer(root)`` serves ``root`` on 127.0.0.1 (port 0, its own thread) until
``close()``; ``routes`` adds special answers for tests of the fetcher's limits
(redirects, lying Content-Length, a server that never answers).
"""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

Route = Callable[[http.server.BaseHTTPRequestHandler], None]


def write(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_treeinfo_tree(root: Path, family: str, version: str, arch: str = "x86_64", variant: str = "",
                       kernel: bytes = b"kernel", initrd: bytes = b"initrd", name: str = ".treeinfo",
                       images: Optional[tuple[str, str]] = ("images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"),
                       ) -> Path:
    """An anaconda-style tree: ``.treeinfo`` ([general] as libosinfo reads it) plus the pxeboot files."""
    lines = ["[header]", "type = productmd.treeinfo", "version = 1.2", "",
             "[release]", f"name = {family}", f"version = {version}", "",
             "[tree]", f"arch = {arch}", f"variants = {variant}" if variant else "variants =", "",
             "[general]", f"family = {family}", f"version = {version}", f"arch = {arch}"]
    if variant:
        lines.append(f"variant = {variant}")
    if images is not None:
        lines += ["", f"[images-{arch}]", f"kernel = {images[0]}", f"initrd = {images[1]}"]
        write(root, images[0], kernel)
        write(root, images[1], initrd)
    write(root, name, ("\n".join(lines) + "\n").encode())
    return root


def make_debian_tree(root: Path, codename: str, origin: str = "Debian", version: str = "11.8",
                     debarch: str = "amd64", kernel: bytes = b"kernel", initrd: bytes = b"initrd",
                     suite_dir: Optional[str] = None) -> Path:
    """A Debian mirror's ``dists/SUITE/`` with Release and the installer's netboot kernel and initrd."""
    suite = suite_dir or codename
    dists = root / "dists" / suite
    write(dists, "Release", (f"Origin: {origin}\nLabel: {origin}\nSuite: stable\nVersion: {version}\n"
                             f"Codename: {codename}\nArchitectures: {debarch}\nComponents: main\n"
                             f"SHA256:\n 0123 45 main/Contents-{debarch}\n").encode())
    inst = dists / "main" / f"installer-{debarch}" / "current" / "images"
    write(inst, "MANIFEST", b"netboot/netboot.tar.gz    tarball of files needed to netboot\n")
    netboot = f"netboot/{origin.lower()}-installer/{debarch}"
    write(inst, f"{netboot}/linux", kernel)
    write(inst, f"{netboot}/initrd.gz", initrd)
    return root


class TreeServer:
    """``root`` over HTTP on 127.0.0.1; ``url`` is its base (ends in '/')."""

    def __init__(self, root: Path, routes: Optional[dict[str, Route]] = None) -> None:
        routes = dict(routes or {})
        self.root = root

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, directory=str(root), **kw)

            def do_GET(self) -> None:
                route = routes.get(self.path.split("?")[0])
                if route is not None:
                    route(self)
                else:
                    super().do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                self.server.requests.append(self.path)  # type: ignore[attr-defined]

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.requests = []  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests  # type: ignore[attr-defined, no-any-return]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def __enter__(self) -> TreeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def redirect_to(target: str) -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", target)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return route


def endless(chunk: bytes = b"x" * 65536, claimed: Optional[int] = None) -> Route:
    """A body that never ends (or claims ``claimed`` bytes in Content-Length)."""
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        if claimed is not None:
            h.send_header("Content-Length", str(claimed))
        h.end_headers()
        try:
            for _ in range(100000):
                h.wfile.write(chunk)
        except OSError:
            pass
    return route


def stall(seconds: float) -> Route:
    """Headers, then nothing for ``seconds``."""
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "10")
        h.end_headers()
        h.wfile.flush()
        time.sleep(seconds)
    return route
