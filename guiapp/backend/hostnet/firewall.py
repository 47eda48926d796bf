"""NAT and forwarding rules of a virtual network, with nftables or iptables (whichever is installed).

nftables: one table ``ip guiapp_<uuid hex>`` per network holds all its rules,
so removal is one ``nft delete table``.  iptables: every rule carries the
comment ``guiapp:<uuid hex>`` and removal deletes exactly the rules whose
comment is that tag.  Both are named from the network's UUID: two networks
never share a table or a tag, whatever their bridge names (``gx.1``, ``gx_1``
and ``gx-1`` once shared ``guiapp_gx_1``), so destroying one never touches
another's rules.  Interface names are checked again here before they are put
in an nft string or an iptables argument (nft reads ``"`` ``;`` ``#`` and a
trailing ``*``, iptables a trailing ``+``).

Rules (as libvirt's): traffic from the bridge's subnet may leave (through the
forward ``dev`` if given), replies come back in, the bridge may talk to
itself, everything else to or from the bridge is rejected; ``nat`` also
masquerades the subnet (not for multicast/broadcast); ``route`` does not;
``open`` adds nothing; an isolated network only lets the bridge talk to itself.
"""

from __future__ import annotations

import shlex
from typing import Optional, Union

from .. import constants as C
from .. import validate
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


def _hex(uuid: Union[bytes, str]) -> str:
    """The 32 hex digits of a network UUID (raw bytes or text with dashes)."""
    text = uuid.hex() if isinstance(uuid, bytes) else uuid.replace("-", "").lower()
    if len(text) != 32 or any(c not in "0123456789abcdef" for c in text):
        raise DriverError(C.VIR_ERR_INVALID_ARG, f"not a network UUID: {validate.shown(uuid)}", _FROM)
    return text


def table_name(uuid: Union[bytes, str]) -> str:
    """The nft table of the network with this UUID (one per network, injective)."""
    return "guiapp_" + _hex(uuid)


def rule_tag(uuid: Union[bytes, str]) -> str:
    """The iptables comment on every rule of the network with this UUID."""
    return "guiapp:" + _hex(uuid)


def _ifname(name: Optional[str], what: str) -> str:
    return validate.check_ifname(name, f"{what} for a firewall rule", domain=_FROM, code=C.VIR_ERR_INVALID_ARG)


def _subnet(d: NetworkDef) -> Optional[str]:
    """The IPv4 subnet of ``d`` as text, checked to be one (it is written unquoted)."""
    ip = d.ipv4
    if ip is None:
        return None
    text = str(ip.network)
    return validate.check_text(text, "the subnet", "\"#;{}", domain=_FROM)


def nft_ruleset(d: NetworkDef) -> str:
    """The ``nft -f`` script creating this network's table."""
    br = _ifname(d.bridge, "bridge name")
    subnet = _subnet(d)
    t = table_name(d.uuid)
    fwd: list[str] = []
    nat: list[str] = []
    if d.forward_mode in ("nat", "route") and subnet:
        dev = _ifname(d.forward_dev, "forward dev") if d.forward_dev else None
        out_dev = f' oifname "{dev}"' if dev else ""
        in_dev = f' iifname "{dev}"' if dev else ""
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
    br = _ifname(d.bridge, "bridge name")
    subnet = _subnet(d)
    tag = ["-m", "comment", "--comment", rule_tag(d.uuid)]
    rules: list[list[str]] = []
    if d.forward_mode in ("nat", "route") and subnet:
        dev = _ifname(d.forward_dev, "forward dev") if d.forward_dev else None
        out_dev = ["-o", dev] if dev else []
        in_dev = ["-i", dev] if dev else []
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
    script = nft_ruleset(d) if backend == "nft" else None  # checked before anything changes
    rules = iptables_rules(d) if backend == "iptables" else []
    remove(run, d.uuid, backend)  # left over from a crash
    if script is not None:
        run.run("nft", "-f", "-", input=script)
        return
    try:
        for rule in rules:
            run.run("iptables", "-w", *rule)
    except DriverError:
        remove(run, d.uuid, backend)
        raise


def tagged_rules(run: Runner, table: str, tag: str) -> list[list[str]]:
    """The ``-A`` rules of iptables table ``table`` whose comment is exactly ``tag``, as argument lists."""
    found = []
    for line in run.run("iptables", "-w", "-t", table, "-S", check=False).stdout.splitlines():
        if not line.startswith("-A "):
            continue
        try:
            args = shlex.split(line)
        except ValueError:
            continue
        if any(a == "--comment" and b == tag for a, b in zip(args, args[1:], strict=False)):
            found.append(args)
    return found


def remove(run: Runner, uuid: Union[bytes, str], backend: Optional[str]) -> None:
    """Remove every rule of the network with this UUID, and no other (nothing to remove is fine)."""
    if backend == "nft":
        t = table_name(uuid)
        if run.run("nft", "list", "table", "ip", t, check=False).returncode == 0:
            run.run("nft", "delete", "table", "ip", t)
    elif backend == "iptables":
        tag = rule_tag(uuid)
        for table in ("filter", "nat"):
            for args in tagged_rules(run, table, tag):
                args[0] = "-D"
                run.run("iptables", "-w", "-t", table, *args, check=False)


def rules_present(run: Runner, uuid: Union[bytes, str], backend: Optional[str]) -> bool:
    """Whether any rule of the network with this UUID is installed (for checks and tests)."""
    if backend == "nft":
        return run.run("nft", "list", "table", "ip", table_name(uuid), check=False).returncode == 0
    if backend == "iptables":
        tag = rule_tag(uuid)
        return any(tagged_rules(run, t, tag) for t in ("filter", "nat"))
    return False


__all__ = ["pick_backend", "nft_ruleset", "iptables_rules", "add", "remove", "rules_present", "table_name",
           "rule_tag", "tagged_rules"]
