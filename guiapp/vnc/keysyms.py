"""X11 keysyms used by the console (RFB key events carry keysyms) and the Send Key combinations."""

from __future__ import annotations

BACKSPACE = 0xFF08
TAB = 0xFF09
RETURN = 0xFF0D
PAUSE = 0xFF13
SCROLL_LOCK = 0xFF14
SYS_REQ = 0xFF15
ESCAPE = 0xFF1B
HOME = 0xFF50
LEFT = 0xFF51
UP = 0xFF52
RIGHT = 0xFF53
DOWN = 0xFF54
PAGE_UP = 0xFF55
PAGE_DOWN = 0xFF56
END = 0xFF57
PRINT = 0xFF61
INSERT = 0xFF63
MENU = 0xFF67
NUM_LOCK = 0xFF7F
KP_ENTER = 0xFF8D
F1 = 0xFFBE
SHIFT_L = 0xFFE1
SHIFT_R = 0xFFE2
CONTROL_L = 0xFFE3
CONTROL_R = 0xFFE4
CAPS_LOCK = 0xFFE5
META_L = 0xFFE7
ALT_L = 0xFFE9
ALT_R = 0xFFEA
SUPER_L = 0xFFEB
DELETE = 0xFFFF


def function_key(n: int) -> int:
    """The keysym of F1..F35."""
    if not 1 <= n <= 35:
        raise ValueError(f"no function key F{n}")
    return F1 + n - 1


def char_keysym(ch: str) -> int:
    """The keysym of one character (Latin-1 directly, others as 0x01000000 + code point)."""
    cp = ord(ch)
    if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF:
        return cp
    if ch == "\n" or ch == "\r":
        return RETURN
    if ch == "\t":
        return TAB
    if ch == "\b":
        return BACKSPACE
    if ch == "\x1b":
        return ESCAPE
    return 0x01000000 + cp


#: The Send Key menu: label -> keysyms pressed in order (released in reverse).
SEND_KEYS: list[tuple[str, tuple[int, ...]]] = [
    ("Ctrl+Alt+Del", (CONTROL_L, ALT_L, DELETE)),
    ("Ctrl+Alt+Backspace", (CONTROL_L, ALT_L, BACKSPACE)),
    *[(f"Ctrl+Alt+F{n}", (CONTROL_L, ALT_L, function_key(n))) for n in range(1, 13)],
    ("PrintScreen", (PRINT,)),
]
