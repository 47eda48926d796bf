"""NAT and forwarding rules of a virtual network, with nftables or iptables (whichever is installed).

nftables: one table ``ip guiapp_<bridge>`` per network holds all its rules, so
removal is one ``nft delete table``.  iptables: every rule carries the comment
``guiapp:<bridge>`` and removal deletes exactly the rules with that comment.

Rules (as libvirt's): traffic from the bridge's subnet may leave (through the
forward ``dev`` if given), replies come back in, the bridge may talk to
itself, everything else to or from the bridge is rejected; ``nat`` also
masquerades the subnet (not for multicast/broadcast); ``route`` does not;
``open`` adds nothing; an isolated network only lets the bridge talk to itself.
"""

from __future__ import annotations

import re
from typing import Optional

from .. import constants as C  # noqa: N812
from ..errors import DriverError
from ..xml.network import NetworkDef
from .runner import Runner, which

_FROM = C.VIR_FROM_NETWORK
BACKENDS = ("nft", "iptables")


def pick_backend(preferred: str = "auto") -> Optional[str]:
    """'nft' or 'iptables' (the one asked for, else the first installed), or None when neither is."""
    if preferred in BACKENDS:
        if which(preferred) is None:
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"firewall backend '{preferred}' is not installed "
                              f"(Debian package {'nftables' if preferred == 'nft' else 'iptables'})", _FROM)
        return preferred
    for name in BACKENDS:
        if which(name) is not None:
            return name
    return None


def table_name(bridge: str) -> str:
    return "guiapp_" + re.sub(r"[^A-Za-z0-9_]", "_", bridge)


def _v4(d: NetworkDef) -> Optional[str]:
    ip = d.ipv4
    return str(ip.network) if ip is not None else None


def nft_ruleset(d: NetworkDef) -> str:
    """The ``nft -f`` script creating this network's table."""
    br = d.bridge
    subnet = _v4(d)
    t = table_name(br or "")
    fwd: list[str] = []
    nat: list[str] = []
    if d.forward_mode in ("nat", "route") and subnet:
        out_dev = f' oifname "{d.forward_dev}"' if d.forward_dev else ""
        in_dev = f' iifname "{d.forward_dev}"' if d.forward_dev else ""
        fwd.append(f'iifname "{br}" ip saddr {subnet}{out_dev} accept')
        if d.forward_mode == "nat":
            fwd.append(f'oifname "{br}" ip daddr {subnet}{in_dev} ct state related,established accept')
            nat += [f"ip saddr {subnet} ip daddr 224.0.0.0/24 return",
                    f"ip saddr {subnet} ip daddr 255.255.255.255 return",
                    f"ip saddr {subnet} ip daddr != {subnet}{out_dev} masquerade"]
        else:
            fwd.append(f'oifname "{br}" ip daddr {subnet}{in_dev} accept')
    if d.forward_mode != "open":
        fwd += [f'iifname "{br}" oifname "{br}" accept', f'iifname "{br}" reject', f'oifname "{br}" reject']
    lines = [f"table ip {t} {{", "  chain forward {", "    type filter hook forward priority 0; policy accept;"]
    lines += [f"    {r}" for r in fwd]
    lines.append("  }")
    if nat:
        lines += ["  chain postrouting {", "    type nat hook postrouting priority 100; policy accept;"]
        lines += [f"    {r}" for r in nat]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def iptables_rules(d: NetworkDef) -> list[list[str]]:
    """The iptables rules (``-t table -A chain ...``) of this network, each tagged with its comment."""
    br = d.bridge or ""
    subnet = _v4(d)
    tag = ["-m", "comment", "--comment", f"guiapp:{br}"]
    rules: list[list[str]] = []
    if d.forward_mode in ("nat", "route") and subnet:
        out_dev = ["-o", d.forward_dev] if d.forward_dev else []
        in_dev = ["-i", d.forward_dev] if d.forward_dev else []
        rules.append(["-t", "filter", "-A", "FORWARD", "-i", br, "-s", subnet, *out_dev, *tag, "-j", "ACCEPT"])
        if d.forward_mode == "nat":
            rules.append(["-t", "filter", "-A", "FORWARD", "-o", br, "-d", subnet, *in_dev, "-m", "conntrack",
                          "--ctstate", "RELATED,ESTABLISHED", *tag, "-j", "ACCEPT"])
            rules += [["-t", "nat", "-A", "POSTROUTING", "-s", subnet, "-d", "224.0.0.0/24", *tag, "-j", "RETURN"],
                      ["-t", "nat", "-A", "POSTROUTING", "-s", subnet, "-d", "255.255.255.255/32", *tag,
                       "-j", "RETURN"],
                      ["-t", "nat", "-A", "POSTROUTING", "-s", subnet, "!", "-d", subnet, *out_dev, *tag,
                       "-j", "MASQUERADE"]]
        else:
            rules.append(["-t", "filter", "-A", "FORWARD", "-o", br, "-d", subnet, *in_dev, *tag, "-j", "ACCEPT"])
    if d.forward_mode != "open":
        rules += [["-t", "filter", "-A", "FORWARD", "-i", br, "-o", br, *tag, "-j", "ACCEPT"],
                  ["-t", "filter", "-A", "FORWARD", "-i", br, *tag, "-j", "REJECT"],
                  ["-t", "filter", "-A", "FORWARD", "-o", br, *tag, "-j", "REJECT"]]
    return rules


def add(run: Runner, d: NetworkDef, backend: Optional[str]) -> None:
    """Install the rules of ``d``; on failure whatever was added is removed again."""
    if backend is None:
        if d.forward_mode in ("nat", "route"):
            raise DriverError(C.VIR_ERR_OPERATION_FAILED, f"network '{d.name}' needs NAT/forwarding rules but "
                              f"neither nft nor iptables is installed (Debian package nftables or iptables)", _FROM)
        return
    remove(run, d.bridge or "", backend)  # left over from a crash
    if backend == "nft":
        run.run("nft", "-f", "-", input=nft_ruleset(d))
        return
    try:
        for rule in iptables_rules(d):
            run.run("iptables", "-w", *rule)
    except DriverError:
        remove(run, d.bridge or "", backend)
        raise


def remove(run: Runner, bridge: str, backend: Optional[str]) -> None:
    """Remove every rule of the network on ``bridge`` (nothing to remove is fine)."""
    if backend == "nft":
        t = table_name(bridge)
        if run.run("nft", "list", "table", "ip", t, check=False).returncode == 0:
            run.run("nft", "delete", "table", "ip", t)
    elif backend == "iptables":
        tag = f"guiapp:{bridge}"
        for table in ("filter", "nat"):
            listing = run.run("iptables", "-w", "-t", table, "-S", check=False).stdout
            for line in listing.splitlines():
                if line.startswith("-A ") and (f'--comment "{tag}"' in line or f"--comment {tag} " in line
                                               or line.endswith(f"--comment {tag}")):
                    args = _split_rule(line)
                    args[0] = "-D"
                    run.run("iptables", "-w", "-t", table, *args, check=False)


def _split_rule(line: str) -> list[str]:
    import shlex
    return shlex.split(line)


def rules_present(run: Runner, bridge: str, backend: Optional[str]) -> bool:
    """Whether any rule of the network on ``bridge`` is installed (for checks and tests)."""
    if backend == "nft":
        return run.run("nft", "list", "table", "ip", table_name(bridge), check=False).returncode == 0
    if backend == "iptables":
        tag = f"guiapp:{bridge}"
        return any(tag in run.run("iptables", "-w", "-t", t, "-S", check=False).stdout for t in ("filter", "nat"))
    return False


__all__ = ["pick_backend", "nft_ruleset", "iptables_rules", "add", "remove", "rules_present", "table_name"]
