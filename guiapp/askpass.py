"""ssh password and passphrase prompts answered by the running guiapp instead of a hidden terminal.

guiapp starts :class:`AskpassServer` (a unix socket in a private 0700 directory) and points ssh at a
small helper program through ``SSH_ASKPASS`` / ``SSH_ASKPASS_REQUIRE=force``.  ssh runs the helper with
the prompt as its argument; the helper sends the prompt over the socket, guiapp asks the user (a dialog),
and the helper prints the answer on stdout for ssh, or exits 1 when the user cancels.  The answer never
goes to a log, a file or an error message.  No Qt here: the GUI passes a callback.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable, Optional

SOCKET_ENV = "GUIAPP_ASKPASS_SOCKET"
MAX_PROMPT = 4096

# callback(prompt) -> the answer, or None when the user cancelled (called on the server's thread)
PromptCallback = Callable[[str], Optional[str]]


def main(argv: Optional[list[str]] = None) -> int:
    """The helper program ssh runs: ``guiapp-askpass PROMPT``."""
    args = sys.argv[1:] if argv is None else argv
    prompt = (args[0] if args else "Password:")[:MAX_PROMPT]
    path = os.environ.get(SOCKET_ENV, "")
    if not path:
        sys.stderr.write("guiapp-askpass: no guiapp to ask (GUIAPP_ASKPASS_SOCKET is not set)\n")
        return 1
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(path)
            s.sendall(json.dumps({"prompt": prompt}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        sys.stderr.write(f"guiapp-askpass: cannot reach guiapp: {exc.strerror}\n")
        return 1
    try:
        reply = json.loads(data or b"{}")
    except ValueError:
        return 1
    if not reply.get("ok"):
        return 1
    sys.stdout.write(str(reply.get("answer", "")) + "\n")
    return 0


class AskpassServer:
    """Answers helper requests with ``callback``; ``environment()`` is what ssh children need."""

    def __init__(self, callback: PromptCallback) -> None:
        self.callback = callback
        self.dir = Path(tempfile.mkdtemp(prefix="guiapp-askpass-", dir=os.environ.get("XDG_RUNTIME_DIR") or None))
        os.chmod(self.dir, 0o700)
        self.path = str(self.dir / "sock")
        self.helper = str(self.dir / "guiapp-askpass")
        root = Path(__file__).resolve().parent.parent
        Path(self.helper).write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(root)!r})\n"
                                     f"from guiapp.askpass import main\nsys.exit(main())\n")
        os.chmod(self.helper, 0o700)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o600)
        self.sock.listen(4)
        self._thread = threading.Thread(target=self._serve, name="askpass", daemon=True)
        self._thread.start()

    def environment(self) -> dict[str, str]:
        return {"SSH_ASKPASS": self.helper, "SSH_ASKPASS_REQUIRE": "force", SOCKET_ENV: self.path,
                "DISPLAY": os.environ.get("DISPLAY") or ":0"}

    def install(self) -> None:
        """Put :meth:`environment` into this process's environment (inherited by every ssh it runs)."""
        os.environ.update(self.environment())

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                data = b""
                while not data.endswith(b"\n") and len(data) <= MAX_PROMPT * 8:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                prompt = str(json.loads(data or b"{}").get("prompt", "Password:"))[:MAX_PROMPT]
            except (OSError, ValueError):
                return
            try:
                answer = self.callback(prompt)
            except Exception:  # a broken dialog must not leave ssh waiting
                answer = None
            reply = {"ok": answer is not None, "answer": answer or ""}
            try:
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
