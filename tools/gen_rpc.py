#!/usr/bin/env python3
"""Generate guiapp/backend/rpc/remote_gen.py from libvirt's XDR protocol files.

Usage: python3 tools/gen_rpc.py [LIBVIRT_SRC_DIR] > guiapp/backend/rpc/remote_gen.py

Reads ``src/rpc/virnetprotocol.x``, ``src/rpc/virkeepaliveprotocol.x`` and
``src/remote/remote_protocol.x`` (libvirt 9.0) and writes plain data: constants,
enums, type layouts and the procedure table with its ``@acl``/``@priority``
annotations.  The output is deterministic (same input, same bytes).
"""

from __future__ import annotations

import pprint
import re
import sys
from pathlib import Path
from typing import Any

DEFAULT_SRC = "/work/libvirt-src/libvirt-9.0.0"
FILES = ("src/rpc/virnetprotocol.x", "src/rpc/virkeepaliveprotocol.x", "src/remote/remote_protocol.x")

# C header values the .x files refer to (include/libvirt/*.h)
EXTERNAL = {
    "VIR_UUID_BUFLEN": 16,
    "VIR_SECURITY_LABEL_BUFLEN": 4097,
    "VIR_SECURITY_MODEL_BUFLEN": 257,
    "VIR_SECURITY_DOI_BUFLEN": 257,
    "VIR_TYPED_PARAM_INT": 1,
    "VIR_TYPED_PARAM_UINT": 2,
    "VIR_TYPED_PARAM_LLONG": 3,
    "VIR_TYPED_PARAM_ULLONG": 4,
    "VIR_TYPED_PARAM_DOUBLE": 5,
    "VIR_TYPED_PARAM_BOOLEAN": 6,
    "VIR_TYPED_PARAM_STRING": 7,
}

TOKEN = re.compile(r"\s*(0x[0-9a-fA-F]+|-?\d+|[A-Za-z_][A-Za-z0-9_]*|[{}()\[\]<>;:,=*])")

# permissions under which a read-only client may call a procedure
READ_PERMS = {"getattr", "read", "none"}


class Parser:
    def __init__(self, text: str, consts: dict[str, int]) -> None:
        self.toks = [m.group(1) for m in TOKEN.finditer(text)]
        self.i = 0
        self.consts = consts
        self.enums: dict[str, dict[str, int]] = {}
        self.types: dict[str, Any] = {}

    def peek(self) -> str:
        return self.toks[self.i]

    def next(self) -> str:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, tok: str) -> None:
        got = self.next()
        if got != tok:
            raise SyntaxError(f"expected {tok!r}, got {got!r} at token {self.i}")

    def value(self, tok: str) -> int:
        if tok in self.consts:
            return self.consts[tok]
        return int(tok, 0)

    def parse(self) -> None:
        while self.i < len(self.toks):
            kw = self.next()
            if kw == "const":
                name = self.next()
                self.expect("=")
                self.consts[name] = self.value(self.next())
                self.expect(";")
            elif kw == "enum":
                name = self.next()
                self.enums[name] = self.enum_body()
                self.types[name] = ("int",)
                self.expect(";")
            elif kw == "struct":
                name = self.next()
                self.types[name] = self.struct_body()
                self.expect(";")
            elif kw == "union":
                name = self.next()
                self.types[name] = self.union_body()
                self.expect(";")
            elif kw == "typedef":
                name, spec = self.declaration()
                self.types[name] = spec
                self.expect(";")
            else:
                raise SyntaxError(f"unexpected {kw!r}")

    def enum_body(self) -> dict[str, int]:
        self.expect("{")
        out: dict[str, int] = {}
        while True:
            name = self.next()
            self.expect("=")
            out[name] = self.value(self.next())
            self.consts[name] = out[name]
            tok = self.next()
            if tok == "}":
                return out

    def struct_body(self) -> Any:
        self.expect("{")
        fields = []
        while self.peek() != "}":
            fields.append(self.declaration())
            self.expect(";")
        self.expect("}")
        return ("struct", tuple(fields))

    def union_body(self) -> Any:
        self.expect("switch")
        self.expect("(")
        dspec = self.base_type()
        self.next()  # discriminant name
        self.expect(")")
        self.expect("{")
        arms = []
        while self.peek() != "}":
            self.expect("case")
            case = self.value(self.next())
            self.expect(":")
            arm = self.declaration()
            self.expect(";")
            arms.append((case, arm[0], arm[1]))
        self.expect("}")
        return ("union", dspec, tuple(arms))

    def base_type(self) -> Any:
        tok = self.next()
        if tok == "unsigned":
            if self.peek() in ("int", "hyper", "char", "short"):
                tok = self.next()
                return ("uhyper",) if tok == "hyper" else ("uint",)
            return ("uint",)
        if tok in ("int", "char", "short", "bool"):
            return ("int",)
        if tok == "hyper":
            return ("hyper",)
        if tok == "double":
            return ("double",)
        if tok == "float":
            return ("float",)
        if tok in ("struct", "enum", "union"):
            tok = self.next()
        if tok == "void":
            return ("void",)
        return ("ref", tok)

    def declaration(self) -> tuple[str, Any]:
        if self.peek() == "string":
            self.next()
            name = self.next()
            return name, ("string", self.bound())
        if self.peek() == "opaque":
            self.next()
            name = self.next()
            if self.peek() == "[":
                self.next()
                n = self.value(self.next())
                self.expect("]")
                return name, ("fopaque", n)
            return name, ("opaque", self.bound())
        spec = self.base_type()
        if self.peek() == "*":
            self.next()
            return self.next(), ("opt", spec)
        name = self.next()
        if self.peek() == "[":
            self.next()
            n = self.value(self.next())
            self.expect("]")
            return name, ("farray", spec, n)
        if self.peek() == "<":
            return name, ("varray", spec, self.bound())
        return name, spec

    def bound(self) -> int:
        self.expect("<")
        if self.peek() == ">":
            self.next()
            return 0xFFFFFFFF
        n = self.value(self.next())
        self.expect(">")
        return n


def strip(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return "\n".join(line for line in text.splitlines() if not line.startswith("%"))


def annotations(text: str) -> dict[str, dict[str, list[str]]]:
    """REMOTE_PROC_X -> {'acl': [...], 'priority': [...], ...} from the doc comments."""
    out: dict[str, dict[str, list[str]]] = {}
    for m in re.finditer(r"/\*\*(.*?)\*/\s*(REMOTE_PROC_\w+)\s*=", text, flags=re.S):
        notes: dict[str, list[str]] = {}
        for a in re.finditer(r"@(\w+):\s*(\S+)", m.group(1)):
            notes.setdefault(a.group(1), []).append(a.group(2))
        out[m.group(2)] = notes
    return out


# procedures whose @acl says read although libvirt's API layer refuses them on read-only connections
NOT_READ_ONLY = {"REMOTE_PROC_DOMAIN_SET_SCHEDULER_PARAMETERS"}


def is_read_perm(perm: str) -> bool:
    return perm in READ_PERMS or perm.startswith("search_")


def read_only_safe(name: str, acl: list[str]) -> bool:
    """True when every unconditional @acl permission is a read one (flag-conditional ones: see ro_flags)."""
    if name in NOT_READ_ONLY:
        return False
    for rule in acl:
        parts = rule.split(":")
        perm = parts[1] if len(parts) > 1 else parts[0]
        if len(parts) <= 2 and not is_read_perm(perm):
            return False
    return True


def read_only_flags(acl: list[str]) -> tuple[str, ...]:
    """Flag names that need a non-read permission (a read-only client must not pass them)."""
    out: list[str] = []
    for rule in acl:
        parts = rule.split(":")
        if len(parts) == 3 and not is_read_perm(parts[1]) and not parts[2].startswith("!"):
            out.extend(f for f in parts[2].split("|") if f not in out)
    return tuple(out)


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SRC)
    consts: dict[str, int] = dict(EXTERNAL)
    enums: dict[str, dict[str, int]] = {}
    types: dict[str, Any] = {}
    notes: dict[str, dict[str, list[str]]] = {}
    for rel in FILES:
        raw = (src / rel).read_text()
        notes.update(annotations(raw))
        p = Parser(strip(raw), consts)
        p.parse()
        enums.update(p.enums)
        types.update(p.types)
    procs = []
    for name, num in enums["remote_procedure"].items():
        base = name[len("REMOTE_PROC_"):].lower()
        args = f"remote_{base}_args"
        ret = f"remote_{base}_ret"
        msg = f"remote_{base}_msg"
        n = notes.get(name, {})
        acl = n.get("acl", [])
        procs.append((num, name, args if args in types else (msg if msg in types else None),
                      ret if ret in types else None, tuple(acl), n.get("priority", ["low"])[0],
                      "readstream" in n or "writestream" in n, read_only_safe(name, acl),
                      read_only_flags(acl)))
    procs.sort()
    w = sys.stdout.write
    w('"""libvirt 9.0 wire protocol tables, generated by tools/gen_rpc.py from libvirt\'s .x files."""\n\n')
    w("# Do not edit: regenerate with python3 tools/gen_rpc.py > guiapp/backend/rpc/remote_gen.py\n")
    w("# fmt: off\n# flake8: noqa\n# ruff: noqa\n")
    w("from typing import Any\n\n")
    w("CONSTANTS: dict[str, int] = " + pprint.pformat(dict(sorted(consts.items())), width=110) + "\n\n")
    w("ENUMS: dict[str, dict[str, int]] = " + pprint.pformat(dict(sorted(enums.items())), width=110) + "\n\n")
    w("TYPES: dict[str, Any] = " + pprint.pformat(dict(sorted(types.items())), width=110) + "\n\n")
    w("# (number, name, args type, ret type, @acl rules, @priority, stream, read-only safe,\n")
    w("#  flags a read-only client must not pass)\n")
    w("PROCEDURES: tuple[tuple[int, str, Any, Any, tuple[str, ...], str, bool, bool, tuple[str, ...]], ...] = (\n")
    for p in procs:
        w("    " + repr(p) + ",\n")
    w(")\n")


if __name__ == "__main__":
    main()
