"""guiappd: the daemon serving guiapp's drivers over libvirt's RPC protocol.

It lives beside :mod:`guiapp.backend`, not inside it: like the desktop manager it
is a *user* of the public API (``guiapp.backend.open`` and the virConnect /
virDomain / virNetwork methods), so the front-end's checks apply once, and the
backend stays a library with no server in it.  No Qt is imported here.

* :mod:`.main` — command line, socket paths, start-up and shutdown.
* :mod:`.server` — sockets, client threads, framing limits, read-only rules.
* :mod:`.dispatch` — one handler per REMOTE procedure, each calling the public API.
* :mod:`.conns` — the shared driver connections and which URIs a client may open.
"""
