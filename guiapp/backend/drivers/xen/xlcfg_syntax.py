"""xl.cfg syntax (xl.cfg(5), libxl's ``libxlu_cfg`` grammar): settings, strings, numbers, nested lists."""

from __future__ import annotations

import re
from typing import Optional, Union

from ... import constants as C
from ...errors import DriverError

_FROM = C.VIR_FROM_DOMAIN
CfgValue = Union[str, int, list]


def items(value: Optional[CfgValue]) -> list:
    """A list-valued setting (``disk = [...]``) as a list; a scalar is one item."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r]+) | (?P<comment>\#[^\n]*) | (?P<nl>\n) |
    (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*') |
    (?P<num>0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?) |
    (?P<ident>[A-Za-z_][A-Za-z0-9_.]*) |
    (?P<op>\+=|[=\[\],;])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a", "b": "\b", "f": "\f",
            "v": "\v"}


def _unquote(tok: str) -> str:
    body = tok[1:-1]
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt in "xX" and re.match(r"[0-9a-fA-F]{2}", body[i + 2:i + 4]):
                out.append(chr(int(body[i + 2:i + 4], 16)))
                i += 4
                continue
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            if m:
                out.append(chr(int(m.group(0), 8)))
                i += 1 + len(m.group(0))
                continue
            out.append(nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _tokens(text: str, what: str) -> list[tuple[str, str, int]]:
    """(kind, text, line) tokens; comments and blanks dropped, newlines kept."""
    toks: list[tuple[str, str, int]] = []
    line = 1
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise DriverError(C.VIR_ERR_CONF_SYNTAX, f"{what}:{line}: unexpected character {text[pos]!r}", _FROM)
        kind = m.lastgroup or ""
        if kind == "nl":
            toks.append(("nl", "\n", line))
            line += 1
        elif kind not in ("ws", "comment"):
            toks.append((kind, m.group(0), line))
        pos = m.end()
    toks.append(("eof", "", line))
    return toks


class _Parser:
    """Recursive descent over the tokens: ``setting = atom | [ value, ... ]`` (lists may nest)."""

    def __init__(self, toks: list[tuple[str, str, int]], what: str) -> None:
        self.toks = toks
        self.what = what
        self.i = 0

    def err(self, msg: str) -> DriverError:
        return DriverError(C.VIR_ERR_CONF_SYNTAX, f"{self.what}:{self.toks[self.i][2]}: {msg}", _FROM)

    def peek(self) -> str:
        return self.toks[self.i][1]

    def skip_nl(self) -> None:
        while self.toks[self.i][0] == "nl":
            self.i += 1

    def atom(self) -> CfgValue:
        kind, tok, _ = self.toks[self.i]
        if kind == "str":
            self.i += 1
            return _unquote(tok)
        if kind == "num":
            self.i += 1
            if "." in tok:
                return tok
            return int(tok, 16) if tok[:2].lower() == "0x" else int(tok)
        raise self.err(f"expected a string or a number, found {tok!r}")

    def value(self, depth: int = 0) -> CfgValue:
        if self.peek() != "[":
            return self.atom()
        if depth >= 8:
            raise self.err("lists nested too deeply")
        self.i += 1
        out: list = []
        while True:
            self.skip_nl()
            if self.peek() == "]":
                self.i += 1
                return out
            out.append(self.value(depth + 1))
            self.skip_nl()
            if self.peek() == ",":
                self.i += 1
            elif self.peek() != "]":
                raise self.err("expected ',' or ']' in list")

    def settings(self) -> dict[str, CfgValue]:
        out: dict[str, CfgValue] = {}
        while True:
            self.skip_nl()
            kind, tok, _ = self.toks[self.i]
            if kind == "eof":
                return out
            if kind == "op" and tok == ";":
                self.i += 1
                continue
            if kind != "ident":
                raise self.err(f"expected a setting name, found {tok!r}")
            self.i += 1
            op = self.peek()
            if op not in ("=", "+="):
                raise self.err(f"expected '=' after {tok!r}")
            self.i += 1
            value = self.value()
            if op == "+=" and tok in out:
                prev = out[tok]
                value = (prev + value) if isinstance(prev, list) and isinstance(value, list) else f"{prev}{value}"
            out[tok] = value
            if self.toks[self.i][0] not in ("nl", "eof") and self.peek() != ";":
                raise self.err(f"unexpected {self.peek()!r} after the value of {tok!r}")


def parse_cfg(text: str, what: str = "xl.cfg") -> dict[str, CfgValue]:
    """Parse xl.cfg text into {key: str | int | list}; syntax errors raise VIR_ERR_CONF_SYNTAX."""
    return _Parser(_tokens(text, what), what).settings()


def quote(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _comment(text: str) -> str:
    """A comment stays on its line: control characters (a newline would start a setting) are escaped."""
    return "".join(ch if ch >= " " and ch != "\x7f" else f"\\x{ord(ch):02x}" for ch in text)


def _format_value(value: CfgValue) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[ " + ", ".join(_format_value(v) for v in value) + " ]"
    return quote(str(value))


def format_cfg(cfg: dict[str, CfgValue], comments: Optional[list[str]] = None) -> str:
    """xl.cfg text for ``cfg`` (one setting a line, in insertion order)."""
    lines = [f"# {_comment(c)}" for c in comments or []]
    for key, value in cfg.items():
        lines.append(f"{key} = {_format_value(value)}")
    return "\n".join(lines) + "\n"
