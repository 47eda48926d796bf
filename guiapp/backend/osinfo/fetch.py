"""Read files of an install tree by URL: http(s) or a local ``file://`` tree, with size, time and redirect limits.

The tree URL and every path taken from the tree's own metadata (``.treeinfo``,
osinfo-db) are hostile input: :func:`check_tree_url` and :func:`check_tree_path`
validate them before anything is opened.  Nothing here runs a shell or writes
outside the destination file it is given, and each failure is one
``DriverError`` that says what to fix (unreachable host, missing file, too big,
too slow).
"""

from __future__ import annotations

import os
import re
import socket
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.client import HTTPException
from typing import IO, Any, Optional

from .. import constants as C
from ..errors import DriverError

SCHEMES = ("http", "https", "file")
MAX_URL_LENGTH = 2048
MAX_PATH_LENGTH = 512
MAX_REDIRECTS = 3
#: Seconds without progress before a read gives up, and for the whole of one metadata file.
TIMEOUT = 20.0
#: Largest metadata file read (.treeinfo, Release, MANIFEST); Debian's Release is ~150 KiB.
MAX_METADATA = 4 * 1024 * 1024
#: Largest kernel or initrd fetched (Fedora's installer initrd is ~100 MiB).
MAX_BOOT_FILE = 512 * 1024 * 1024
CHUNK = 256 * 1024

_PATH_PART = re.compile(r"[A-Za-z0-9._+~@,=-]+")
_FROM = C.VIR_FROM_NONE

Progress = Callable[[int, Optional[int]], None]  # bytes so far, total when known


def _err(code: int, msg: str) -> DriverError:
    return DriverError(code, msg, _FROM)


class TreeFileMissingError(DriverError):
    """The tree has no file at that path (HTTP 404 / 410, or no such local file)."""


def check_tree_url(url: str) -> str:
    """The install tree URL, validated and normalised to end in ``/``; ``VIR_ERR_INVALID_ARG`` otherwise.

    Only http, https and file; no credentials (they would end up in logs and in
    the domain's history), no query or fragment, no whitespace or control characters.
    """
    if not isinstance(url, str) or not url.strip():
        raise _err(C.VIR_ERR_INVALID_ARG, "no install tree URL given (e.g. http://deb.debian.org/debian/dists/"
                                          "bullseye/main/installer-amd64/)")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise _err(C.VIR_ERR_INVALID_ARG, f"the install tree URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise _err(C.VIR_ERR_INVALID_ARG, "the install tree URL must not contain spaces or control characters "
                                          "(percent-encode them)")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _err(C.VIR_ERR_INVALID_ARG, f"the install tree URL is not valid: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"'{scheme}:'" if scheme else "no scheme"
        raise _err(C.VIR_ERR_INVALID_ARG, f"install tree URLs must start with http://, https:// or file:// "
                                          f"({shown} given)")
    if parts.username is not None or parts.password is not None:
        raise _err(C.VIR_ERR_INVALID_ARG, "the install tree URL must not carry a user name or password")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise _err(C.VIR_ERR_INVALID_ARG, "the install tree URL must not have a query (?...) or fragment (#...)")
    path = parts.path or "/"
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise _err(C.VIR_ERR_INVALID_ARG, "file:// install trees must be on this machine (file:///path/)")
        if not path.startswith("/"):
            raise _err(C.VIR_ERR_INVALID_ARG, "file:// install trees need an absolute path (file:///path/)")
    else:
        if not parts.hostname:
            raise _err(C.VIR_ERR_INVALID_ARG, f"the install tree URL names no host ({scheme}://HOST/path/)")
        if port == 0:
            raise _err(C.VIR_ERR_INVALID_ARG, "the install tree URL's port must be 1-65535")
    if any(seg in (".", "..") for seg in urllib.parse.unquote(path).split("/")):
        raise _err(C.VIR_ERR_INVALID_ARG, "the install tree URL must not contain '.' or '..' path segments")
    if not path.endswith("/"):
        path += "/"
    return urllib.parse.urlunsplit((scheme, parts.netloc.lower() if scheme != "file" else "", path, "", ""))


def check_tree_path(rel: str, what: str = "path") -> str:
    """A path inside a tree, from the tree's metadata: relative, plain segments only; ``VIR_ERR_INVALID_ARG``.

    Refuses ``..``, absolute paths, schemes, percent-escapes, backslashes and
    anything outside ``[A-Za-z0-9._+~@,=-]`` in a segment, so a hostile
    ``.treeinfo`` cannot point the fetcher outside the tree.
    """
    if not rel or len(rel) > MAX_PATH_LENGTH:
        raise _err(C.VIR_ERR_INVALID_ARG, f"the install tree names an empty or overlong {what}")
    parts = rel.split("/")
    if rel.startswith("/") or any(p in ("", ".", "..") or not _PATH_PART.fullmatch(p) for p in parts):
        raise _err(C.VIR_ERR_INVALID_ARG, f"the install tree names an unsafe {what} {rel!r}: only relative "
                                          f"paths inside the tree are followed")
    return rel


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS
    max_repeats = 1

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Optional[urllib.request.Request]:
        scheme = urllib.parse.urlsplit(newurl).scheme.lower()
        if scheme not in ("http", "https"):
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"{req.full_url} redirects to a {scheme or 'relative'}: URL; "
                                                   f"only http and https redirects are followed")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    """http(s) only (no file:, ftp: or data: handlers reachable through a redirect)."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                    urllib.request.HTTPDefaultErrorHandler(), _Redirects(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


class TreeFetcher:
    """Files of one install tree, addressed by validated relative paths."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT) -> None:
        self.url = check_tree_url(url)
        self.scheme = urllib.parse.urlsplit(self.url).scheme
        self.timeout = timeout

    def url_of(self, rel: str) -> str:
        """The absolute URL of ``rel`` (validated) inside the tree."""
        return self.url + urllib.parse.quote(check_tree_path(rel))

    def at(self, rel_dir: str) -> TreeFetcher:
        """A fetcher for the sub-tree ``rel_dir``."""
        return TreeFetcher(self.url_of(rel_dir.rstrip("/")) + "/", timeout=self.timeout)

    # -- reading ---------------------------------------------------------------------------------
    def read(self, rel: str, limit: int = MAX_METADATA) -> bytes:
        """The whole file ``rel`` (at most ``limit`` bytes) into memory."""
        chunks: list[bytes] = []

        class Sink:
            def write(self, data: bytes) -> int:
                chunks.append(data)
                return len(data)

        self.copy(rel, Sink(), limit)  # type: ignore[arg-type]
        return b"".join(chunks)

    def copy(self, rel: str, out: IO[bytes], limit: int, progress: Progress = lambda _n, _t: None,
             deadline: Optional[float] = None) -> int:
        """Stream ``rel`` into ``out``; returns the byte count.  Refuses files over ``limit`` bytes."""
        url = self.url_of(rel)
        src, total = self._open(url)
        with src:
            if total is not None and total > limit:
                raise _err(C.VIR_ERR_OPERATION_FAILED, f"{url} is {total} bytes, more than the {limit} allowed")
            done = 0
            while True:
                if deadline is not None and time.monotonic() > deadline:
                    raise _err(C.VIR_ERR_OPERATION_TIMEOUT, f"fetching {url} took too long (stopped after "
                                                            f"{done} bytes)")
                try:
                    data = src.read(CHUNK)
                except (OSError, HTTPException) as exc:
                    raise self._failed(url, exc) from None
                if not data:
                    return done
                done += len(data)
                if done > limit:
                    raise _err(C.VIR_ERR_OPERATION_FAILED, f"{url} is more than the {limit} bytes allowed")
                out.write(data)
                progress(done, total)

    def exists(self, rel: str) -> bool:
        """Whether the tree has ``rel`` (opened and closed; nothing is read)."""
        try:
            src, _total = self._open(self.url_of(rel))
        except TreeFileMissingError:
            return False
        src.close()
        return True

    # -- plumbing --------------------------------------------------------------------------------
    def _open(self, url: str) -> tuple[Any, Optional[int]]:
        if self.scheme == "file":
            return self._open_local(url)
        req = urllib.request.Request(url, headers={"User-Agent": "guiapp-netinstall"})
        try:
            resp = _opener().open(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (404, 410):
                raise TreeFileMissingError(C.VIR_ERR_OPERATION_FAILED, f"{url} does not exist (HTTP {exc.code})",
                                      _FROM) from None
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"{url}: the server answered HTTP {exc.code} "
                                                   f"{exc.reason}") from None
        except DriverError:
            raise
        except (OSError, HTTPException, ValueError) as exc:
            raise self._failed(url, exc) from None
        length = resp.headers.get("Content-Length")
        return resp, int(length) if length and length.isdigit() else None

    def _open_local(self, url: str) -> tuple[Any, Optional[int]]:
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise TreeFileMissingError(C.VIR_ERR_OPERATION_FAILED, f"{path} does not exist", _FROM) from None
        except OSError as exc:
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"cannot open {path}: {exc.strerror}") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise _err(C.VIR_ERR_OPERATION_FAILED, f"{path} is not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st.st_size

    def _failed(self, url: str, exc: BaseException) -> DriverError:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return _err(C.VIR_ERR_OPERATION_TIMEOUT, f"{url} did not answer within {self.timeout:g} s")
        host = urllib.parse.urlsplit(url).netloc
        text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
        return _err(C.VIR_ERR_OPERATION_FAILED, f"cannot reach {host} for {url}: {text}")
