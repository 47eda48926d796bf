"""Checking a driver class against the contract (:mod:`.contract`): signatures, misspelt operations, and
which operations a driver implements."""

from __future__ import annotations

import types
from typing import Any, Optional

from .contract import MANDATORY, OPERATIONS, SIGNATURES


class ContractError(TypeError):
    """A driver class does not match the contract (a programming error, found at registration)."""


def _positional(fn: types.FunctionType) -> tuple[str, ...]:
    code = fn.__code__
    return code.co_varnames[:code.co_argcount]


def _signature_problem(name: str, impl: Any, spec: types.FunctionType) -> Optional[str]:
    """Why ``impl`` cannot be called the way the front-end calls ``spec``, or None."""
    if isinstance(impl, (staticmethod, classmethod)):
        return f"{name} must be an instance method, not a {type(impl).__name__}"
    if not isinstance(impl, types.FunctionType):
        return None if callable(impl) else f"{name} is not callable"
    want = _positional(spec)[1:]
    code = impl.__code__
    has_varargs = bool(code.co_flags & 0x04)
    got = _positional(impl)[1:]
    required = len(got) - len(impl.__defaults__ or ())
    kwonly = code.co_kwonlyargcount - len(impl.__kwdefaults__ or {})
    if kwonly > 0:
        return f"{name} has required keyword-only parameters; the front-end passes ({', '.join(want)}) positionally"
    if required > len(want) or (len(got) < len(want) and not has_varargs):
        return (f"{name}({', '.join(got)}) does not match the contract {name}({', '.join(want)}): "
                f"the front-end passes {len(want)} argument(s) positionally")
    return None


def _misspelt(name: str) -> Optional[str]:
    """The operation ``name`` is probably a misspelling of, or None."""
    import difflib  # only when a driver has public extras

    close = difflib.get_close_matches(name, list(OPERATIONS), n=1, cutoff=0.85)
    return close[0] if close else None


def contract_problems(cls: type, *, spelling: bool = True) -> list[str]:
    """Everything in driver class ``cls`` that breaks the contract (empty when it is fine).

    ``spelling`` also looks for public methods named like a misspelt operation (difflib: the test
    suite does it for every driver; :func:`check_driver` at registration skips it to start fast).
    """
    problems = []
    for name, spec in SIGNATURES.items():
        impl = next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None)
        if impl is None:
            continue
        problem = _signature_problem(name, impl, spec)
        if problem:
            problems.append(problem)
    for name in dir(cls) if spelling else ():
        if name.startswith("_") or name in OPERATIONS or name in MANDATORY:
            continue
        guess = _misspelt(name)
        if guess is not None:
            problems.append(f"public method {name!r} looks like a misspelt operation {guess!r}; "
                            f"rename it (or make it private) so the front-end finds it")
    return problems


_checked: set[type] = set()


def check_driver(cls: type) -> None:
    """Raise ContractError when an operation of ``cls`` has the wrong signature (checked once per class)."""
    if cls in _checked:
        return
    problems = contract_problems(cls, spelling=False)
    if problems:
        raise ContractError(f"driver {cls.__module__}.{cls.__qualname__} breaks the driver contract:\n  "
                            + "\n  ".join(problems))
    _checked.add(cls)


def implemented(driver: Any) -> list[str]:
    """The optional operations ``driver`` (class or instance) implements."""
    return [op for op in OPERATIONS if callable(getattr(driver, op, None))]
