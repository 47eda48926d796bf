"""XDR (RFC 4506) codecs compiled from the generated type layouts.

Each named type of :mod:`remote_gen` gets a pair of Python functions generated
once from its layout (runs of fixed-size fields become one ``struct`` call), so
decoding a large reply interprets no type tree per value.  Values:

* int / unsigned / hyper / enum -> ``int``; double -> ``float``
* string -> ``str`` (UTF-8; undecodable bytes kept via ``surrogateescape``)
* opaque (fixed or variable) -> ``bytes``
* optional (``*``) -> the value or ``None``; arrays -> ``list``
* struct -> ``dict`` keyed by field name; union -> ``(discriminant, value)``
"""

from __future__ import annotations

import struct
import threading
from typing import Any, Callable

from .remote_gen import TYPES

Encoder = Callable[[Any], bytes]
Decoder = Callable[[bytes, int], tuple[Any, int]]

_FIXED = {"int": ("i", 4), "uint": ("I", 4), "hyper": ("q", 8), "uhyper": ("Q", 8), "double": ("d", 8),
          "float": ("f", 4)}


class XDRError(ValueError):
    """A value that cannot be encoded, or bytes that are not a valid encoding."""


def _raise_short(name: str) -> None:
    raise XDRError(f"truncated data while decoding {name}")


def _raise_long(name: str, n: int, limit: int) -> None:
    raise XDRError(f"{name}: length {n} exceeds the protocol limit {limit}")


class _Compiler:
    """Generates Python source for the codecs of every type in ``types``."""

    def __init__(self, types: dict[str, Any]) -> None:
        self.types = types
        self.structs: dict[str, struct.Struct] = {}
        self.n = 0
        self.inlining: list[str] = []

    def small(self, spec: Any) -> bool:
        """Worth inlining into a caller: a struct or union of a few fields."""
        if spec[0] == "struct":
            return len(spec[1]) <= 6
        if spec[0] == "union":
            return len(spec[2]) <= 8
        return False

    def tmp(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def sname(self, fmt: str) -> str:
        name = "S_" + fmt.replace("!", "")
        self.structs[name] = struct.Struct(">" + fmt)
        return name

    def resolve(self, spec: Any) -> Any:
        """Follow typedefs of plain primitives/strings (not structs: they keep their functions)."""
        while spec[0] == "ref":
            target = self.types[spec[1]]
            if target[0] in ("struct", "union"):
                return spec
            spec = target
        return spec

    @staticmethod
    def fixed_fmt(spec: Any) -> str | None:
        if spec[0] in _FIXED:
            return _FIXED[spec[0]][0]
        if spec[0] == "fopaque":
            pad = (-spec[1]) % 4
            return f"{spec[1]}s" + (f"{pad}x" if pad else "")
        return None

    # ---- decoding -------------------------------------------------------
    def dec(self, spec: Any, target: str, ind: str, where: str) -> list[str]:
        spec = self.resolve(spec)
        kind = spec[0]
        out: list[str] = []
        if kind in _FIXED or kind == "fopaque":
            fmt = self.fixed_fmt(spec)
            assert fmt is not None
            s = self.sname(fmt)
            out.append(f"{ind}{target}, = {s}.unpack_from(b, o); o += {self.structs[s].size}")
        elif kind == "void":
            out.append(f"{ind}{target} = None")
        elif kind == "ref":
            body = self.types[spec[1]]
            if spec[1] not in self.inlining and len(self.inlining) < 4 and self.small(body):
                self.inlining.append(spec[1])  # inline small structs/unions: no call per element
                out += self.dec(body, target, ind, where)
                self.inlining.pop()
            else:
                out.append(f"{ind}{target}, o = dec_{spec[1]}(b, o)")
        elif kind in ("string", "opaque"):
            n = self.tmp()
            out.append(f"{ind}{n}, = S_I.unpack_from(b, o); o += 4")
            out.append(f"{ind}if {n} > {spec[1]}: _raise_long({where!r}, {n}, {spec[1]})")
            out.append(f"{ind}if o + {n} > L: _raise_short({where!r})")
            if kind == "string":
                out.append(f"{ind}{target} = b[o:o + {n}].decode('utf-8', 'surrogateescape'); o += ({n} + 3) & ~3")
            else:
                out.append(f"{ind}{target} = bytes(b[o:o + {n}]); o += ({n} + 3) & ~3")
        elif kind == "opt":
            f = self.tmp()
            out.append(f"{ind}{f}, = S_I.unpack_from(b, o); o += 4")
            out.append(f"{ind}if {f}:")
            out += self.dec(spec[1], target, ind + "    ", where)
            out.append(f"{ind}else:")
            out.append(f"{ind}    {target} = None")
        elif kind in ("varray", "farray"):
            n = self.tmp()
            if kind == "varray":
                out.append(f"{ind}{n}, = S_I.unpack_from(b, o); o += 4")
                out.append(f"{ind}if {n} > {spec[2]}: _raise_long({where!r}, {n}, {spec[2]})")
            else:
                out.append(f"{ind}{n} = {spec[2]}")
            elem = self.resolve(spec[1])
            fmt = self.fixed_fmt(elem)
            if fmt is not None and elem[0] != "fopaque":
                out.append(f"{ind}if o + {n} * {struct.calcsize('>' + fmt)} > L: _raise_short({where!r})")
                out.append(f"{ind}{target} = list(struct.unpack_from('>%d{fmt}' % {n}, b, o)); "
                           f"o += {n} * {struct.calcsize('>' + fmt)}")
            else:
                lst, i, v = self.tmp(), self.tmp(), self.tmp()
                out.append(f"{ind}{lst} = []")
                out.append(f"{ind}for {i} in range({n}):")
                out += self.dec(elem, v, ind + "    ", where)
                out.append(f"{ind}    {lst}.append({v})")
                out.append(f"{ind}{target} = {lst}")
        elif kind == "struct":
            out += self.dec_struct(spec[1], target, ind, where)
        elif kind == "union":
            d = self.tmp()
            out += self.dec(spec[1], d, ind, where)
            first = True
            for case, _arm, arm_spec in spec[2]:
                out.append(f"{ind}{'if' if first else 'elif'} {d} == {case}:")
                first = False
                v = self.tmp()
                out += self.dec(arm_spec, v, ind + "    ", where)
                out.append(f"{ind}    {target} = ({d}, {v})")
            out.append(f"{ind}else:")
            out.append(f"{ind}    raise XDRError('{where}: unknown union discriminant %d' % {d})")
        else:  # pragma: no cover - the generator emits only the kinds above
            raise XDRError(f"unsupported XDR kind {kind}")
        return out

    def dec_struct(self, fields: Any, target: str, ind: str, where: str) -> list[str]:
        out: list[str] = []
        names: list[tuple[str, str]] = []
        run: list[tuple[str, str]] = []  # (field, fmt)

        def flush() -> None:
            if not run:
                return
            fmt = "".join(f for _, f in run)
            s = self.sname(fmt)
            tmps = [self.tmp() for _ in run]
            names.extend((fn, t) for (fn, _), t in zip(run, tmps, strict=True))
            out.append(f"{ind}{', '.join(tmps)}, = {s}.unpack_from(b, o); o += {self.structs[s].size}")
            run.clear()

        for fname, fspec in fields:
            fmt = self.fixed_fmt(self.resolve(fspec))
            if fmt is not None:
                run.append((fname, fmt))
                continue
            flush()
            t = self.tmp()
            out += self.dec(fspec, t, ind, f"{where}.{fname}")
            names.append((fname, t))
        flush()
        out.append(f"{ind}{target} = {{{', '.join(f'{fn!r}: {t}' for fn, t in names)}}}")
        return out

    # ---- encoding -------------------------------------------------------
    def enc(self, spec: Any, expr: str, ind: str, where: str) -> list[str]:
        spec = self.resolve(spec)
        kind = spec[0]
        out: list[str] = []
        if kind in _FIXED:
            s = self.sname(_FIXED[kind][0])
            out.append(f"{ind}a({s}.pack({expr}))")
        elif kind == "fopaque":
            t = self.tmp()
            out.append(f"{ind}{t} = {expr}")
            out.append(f"{ind}if len({t}) != {spec[1]}: raise XDRError('{where}: needs exactly {spec[1]} bytes')")
            out.append(f"{ind}a({t})")
            if spec[1] % 4:
                out.append(f"{ind}a({bytes((-spec[1]) % 4)!r})")
        elif kind == "void":
            pass
        elif kind == "ref":
            out.append(f"{ind}enc_{spec[1]}({expr}, a)")
        elif kind in ("string", "opaque"):
            t = self.tmp()
            if kind == "string":
                out.append(f"{ind}{t} = {expr}.encode('utf-8', 'surrogateescape')")
            else:
                out.append(f"{ind}{t} = bytes({expr})")
            out.append(f"{ind}if len({t}) > {spec[1]}: _raise_long({where!r}, len({t}), {spec[1]})")
            out.append(f"{ind}a(S_I.pack(len({t}))); a({t}); a(PAD[len({t}) & 3])")
        elif kind == "opt":
            t = self.tmp()
            out.append(f"{ind}{t} = {expr}")
            out.append(f"{ind}if {t} is None:")
            out.append(f"{ind}    a(ZERO)")
            out.append(f"{ind}else:")
            out.append(f"{ind}    a(ONE)")
            out += self.enc(spec[1], t, ind + "    ", where)
        elif kind in ("varray", "farray"):
            t, e = self.tmp(), self.tmp()
            out.append(f"{ind}{t} = {expr}")
            if kind == "varray":
                out.append(f"{ind}if len({t}) > {spec[2]}: _raise_long({where!r}, len({t}), {spec[2]})")
                out.append(f"{ind}a(S_I.pack(len({t})))")
            else:
                out.append(f"{ind}if len({t}) != {spec[2]}: raise XDRError('{where}: needs {spec[2]} elements')")
            out.append(f"{ind}for {e} in {t}:")
            out += self.enc(spec[1], e, ind + "    ", where)
        elif kind == "struct":
            t = self.tmp()
            out.append(f"{ind}{t} = {expr}")
            run: list[tuple[str, str]] = []

            def flush() -> None:
                if run:
                    s = self.sname("".join(f for _, f in run))
                    out.append(f"{ind}a({s}.pack({', '.join(f'{t}[{fn!r}]' for fn, _ in run)}))")
                    run.clear()

            for fname, fspec in spec[1]:
                r = self.resolve(fspec)
                if r[0] in _FIXED:
                    run.append((fname, _FIXED[r[0]][0]))
                    continue
                flush()
                out += self.enc(fspec, f"{t}[{fname!r}]", ind, f"{where}.{fname}")
            flush()
        elif kind == "union":
            d, v = self.tmp(), self.tmp()
            out.append(f"{ind}{d}, {v} = {expr}")
            out += self.enc(spec[1], d, ind, where)
            first = True
            for case, _arm, arm_spec in spec[2]:
                out.append(f"{ind}{'if' if first else 'elif'} {d} == {case}:")
                first = False
                out += self.enc(arm_spec, v, ind + "    ", where) or [f"{ind}    pass"]
            out.append(f"{ind}else:")
            out.append(f"{ind}    raise XDRError('{where}: unknown union discriminant %r' % ({d},))")
        else:  # pragma: no cover
            raise XDRError(f"unsupported XDR kind {kind}")
        return out

    def deps(self, spec: Any, acc: set[str]) -> None:
        """Named types ``spec`` refers to (transitively) into ``acc``."""
        kind = spec[0]
        if kind == "ref":
            if spec[1] not in acc:
                acc.add(spec[1])
                self.deps(self.types[spec[1]], acc)
        elif kind in ("opt", "varray", "farray"):
            self.deps(spec[1], acc)
        elif kind == "struct":
            for _, f in spec[1]:
                self.deps(f, acc)
        elif kind == "union":
            self.deps(spec[1], acc)
            for _, _, arm in spec[2]:
                self.deps(arm, acc)

    def ensure(self, name: str) -> None:
        """Compile the codecs of ``name`` and what it uses, once (lazily: most types are never used)."""
        if "dec_" + name in self.ns:
            return
        if name not in self.types:
            raise XDRError(f"unknown XDR type {name!r}")
        todo = {name}
        self.deps(self.types[name], todo)
        src: list[str] = []
        for n in sorted(todo):
            if "dec_" + n in self.ns:
                continue
            spec = self.types[n]
            src.append(f"def dec_{n}(b, o):")
            src.append("    L = len(b)")
            src += self.dec(spec, "v", "    ", n)
            src.append("    return v, o")
            src.append(f"def enc_{n}(v, a):")
            src += self.enc(spec, "v", "    ", n) or ["    pass"]
        self.ns.update(self.structs)
        exec(compile("\n".join(src), f"<xdr {name}>", "exec"), self.ns)

    def start(self) -> None:
        self.sname("I")
        self.ns: dict[str, Any] = {"struct": struct, "XDRError": XDRError, "_raise_short": _raise_short,
                                   "_raise_long": _raise_long, "PAD": (b"", b"\0\0\0", b"\0\0", b"\0"),
                                   "ZERO": b"\0\0\0\0", "ONE": b"\0\0\0\1"}
        self.ns.update(self.structs)


_C = _Compiler(TYPES)
_C.start()
_LOCK = threading.Lock()


def _fn(prefix: str, type_name: str) -> Any:
    fn = _C.ns.get(prefix + type_name)
    if fn is None:
        with _LOCK:
            _C.ensure(type_name)
        fn = _C.ns[prefix + type_name]
    return fn


def encode(type_name: str | None, value: Any) -> bytes:
    """XDR bytes of ``value`` as the named type (``None`` type: void, empty)."""
    if type_name is None:
        return b""
    parts: list[bytes] = []
    try:
        _fn("enc_", type_name)(value, parts.append)
    except XDRError:
        raise
    except (struct.error, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise XDRError(f"cannot encode {type_name}: {exc!r}") from None
    return b"".join(parts)


def decode(type_name: str | None, data: bytes, offset: int = 0, whole: bool = True) -> Any:
    """The value of the named type at ``offset``; with ``whole`` no bytes may be left over."""
    if type_name is None:
        if whole and len(data) != offset:
            raise XDRError(f"{len(data) - offset} unexpected bytes after a void payload")
        return None
    try:
        value, end = _fn("dec_", type_name)(data, offset)
    except XDRError:
        raise
    except (struct.error, UnicodeDecodeError, IndexError) as exc:
        raise XDRError(f"truncated or malformed {type_name}: {exc}") from None
    if whole and end != len(data):
        raise XDRError(f"{len(data) - end} unexpected bytes after {type_name}")
    return value


def decoder(type_name: str) -> Decoder:
    """The raw compiled decoder ``(buf, offset) -> (value, new offset)`` of a named type."""
    return _fn("dec_", type_name)


def known(type_name: str) -> bool:
    return type_name in TYPES
