"""The CPUs & Memory Apply of the details window (runs on the job pool; no Qt).

Only the values that differ from what is in effect (what runs now; the definition when the domain is
off) change, each on its own, so one refused change does not hide or undo another:

Memory compares in whole MiB, as the page shows it.

1. a persistent domain's definition gets every changed value first, in one defineXML of its inactive
   definition read now (other pending changes in it are kept). The vCPU count is the *current* count
   (``<vcpu current='N'>``); the maximum is raised to it when it is lower, never lowered (the
   hot-plug headroom stays). A failure here changes nothing and raises;
2. a running domain then gets each value live (``VIR_DOMAIN_AFFECT_LIVE``): vCPUs and current memory up
   to the running maximums; the maximum memory never changes live. A live change the hypervisor
   refuses leaves that value for the next boot; other errors are reported with what was applied.

A transient domain is never defined (that would make it persistent): its values change live or not at
all. virt-manager's details page writes the definition and hot-plugs the changed values the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...models.api import error_code, libvirt
from .hwapply import FALLBACK, LIVE_ONLY, MESSAGES, NEXT_BOOT, NOW, SAVED, refusal

NOT_APPLIED = "not applied"
_SHORT = {
    NOW: "applied now (and saved in the definition)",
    NEXT_BOOT: "saved in the definition, applies at next boot",
    SAVED: "saved in the definition, applies at next boot",
    LIVE_ONLY: "applied now, until this transient domain stops",
    NOT_APPLIED: "not applied",
}
_LIVE = getattr(libvirt, "VIR_DOMAIN_AFFECT_LIVE", 1)
_XML_FLAGS = getattr(libvirt, "VIR_DOMAIN_XML_INACTIVE", 2) | getattr(libvirt, "VIR_DOMAIN_XML_SECURE", 1)
VCPUS, MEMORY, MAX_MEMORY = "vCPUs", "memory", "maximum memory"


@dataclass
class ResourcesOutcome:
    """How each changed value applied (``NOW``, ``NEXT_BOOT``, ``SAVED``, ``LIVE_ONLY``, ``NOT_APPLIED``)
    and the errors met on the way (a value whose live change failed, with the driver's error)."""

    how: dict[str, str] = field(default_factory=dict)
    errors: list[tuple[str, BaseException]] = field(default_factory=list)

    def note(self) -> str:
        if not self.how:
            return "Nothing to apply: these values are already in effect."
        kinds = set(self.how.values())
        if len(kinds) == 1 and not self.errors:
            return MESSAGES[kinds.pop()]
        parts = [f"{what}: {_SHORT[how]}" for what, how in self.how.items()]
        return _sentence("; ".join(parts) + ".") + "".join(f" {_sentence(what)} not changed live: {exc}"
                                                           for what, exc in self.errors)


def _sentence(text: str) -> str:
    """``text`` starting a sentence ("vCPUs" keeps its spelling)."""
    return text if text.startswith(VCPUS) else text[0].upper() + text[1:]


def _mib(kib: int) -> int:
    """Memory as the page shows it (whole MiB, at least 1): a size that is not a whole MiB is unchanged
    when its field was not edited."""
    return max(1, kib // 1024)


def apply_resources(dom: Any, vcpus: int, mem_kib: int, max_kib: int) -> ResourcesOutcome:
    """Set the current vCPU count, current memory and maximum memory (KiB) of ``dom``; see the module
    docstring. Raises when nothing could be applied."""
    from guiapp.backend.xml.domain import parse_domain

    active, persistent = bool(dom.isActive()), bool(dom.isPersistent())
    config = parse_domain(dom.XMLDesc(_XML_FLAGS))
    now = parse_domain(dom.XMLDesc(0)) if active else config
    changed = {VCPUS: vcpus != now.vcpus_current, MEMORY: _mib(mem_kib) != _mib(now.current_memory_kib),
               MAX_MEMORY: _mib(max_kib) != _mib(config.memory_kib)}
    out = ResourcesOutcome()
    if not any(changed.values()):
        return out
    if persistent:
        if changed[MAX_MEMORY]:
            config.memory_kib = max_kib
        if changed[MEMORY] or config.current_memory_kib > max_kib:
            config.current_memory_kib = mem_kib
        if changed[VCPUS]:
            config.vcpus = max(config.vcpus, vcpus)
            config.vcpus_current = vcpus
        dom.connect().defineXML(config.to_xml(inactive=True, secure=False))
    if not active:
        out.how = {what: SAVED for what, c in changed.items() if c}
        return out
    live_ops = {VCPUS: (vcpus, now.vcpus, dom.setVcpusFlags), MEMORY: (mem_kib, now.memory_kib, dom.setMemoryFlags)}
    for what in (VCPUS, MEMORY, MAX_MEMORY):
        if not changed[what]:
            continue
        applied, error = False, None
        if what in live_ops:
            value, running_max, call = live_ops[what]
            if value <= running_max:
                try:
                    call(value, _LIVE)
                    applied = True
                except libvirt.libvirtError as exc:
                    error = exc
        if applied:
            out.how[what] = NOW if persistent else LIVE_ONLY
            continue
        out.how[what] = NEXT_BOOT if persistent else NOT_APPLIED
        if error is not None and (not persistent or error_code(error) not in FALLBACK):
            out.errors.append((what, error))
        elif not persistent:
            out.errors.append((what, refusal(f"the {what} of this running transient domain cannot change to "
                                             "that value while it runs (it has no definition to keep it)")))
    if out.errors and all(how == NOT_APPLIED for how in out.how.values()):
        raise out.errors[0][1]
    return out
