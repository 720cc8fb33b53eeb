"""Which addresses a fetch may connect to: public ones, and the non-public ones allowed.

A feed entry or a redirect names any URL it likes, so it could point monitor at the cloud
metadata service, the router or a database on loopback. `Fetcher` connects only to public
addresses (checked on the resolved address, at connect time), except those of the source's
own configured URL and those the config allows (`fetch.allow_internal`, a source's
`allow_internal`): addresses or networks in CIDR, or host names.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

CLOUD_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)

# The networks that are not public, and why: an address is looked up, in this order, among those
# of its version (a network's test of an address of the other version is meaningless).
_NOT_PUBLIC = {
    "0.0.0.0/8": "unspecified",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "10.0.0.0/8": "private",
    "172.16.0.0/12": "private",
    "192.168.0.0/16": "private",
    "100.64.0.0/10": "shared (carrier-grade NAT)",
    "192.0.0.0/24": "reserved (IETF protocol assignments)",
    "192.0.2.0/24": "reserved (documentation)",
    "198.51.100.0/24": "reserved (documentation)",
    "203.0.113.0/24": "reserved (documentation)",
    "198.18.0.0/15": "reserved (benchmarking)",
    "192.88.99.0/24": "reserved (6to4 relay)",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
    "::/128": "unspecified",
    "::1/128": "loopback",
    "fe80::/10": "link-local",
    "fec0::/10": "site-local",
    "fc00::/7": "unique-local",
    "ff00::/8": "multicast",
    "100::/64": "reserved (discard)",
    "2001:db8::/32": "reserved (documentation)",
}
_NETWORKS = [(ipaddress.ip_network(net), kind) for net, kind in _NOT_PUBLIC.items()]
_V4 = tuple((net, kind) for net, kind in _NETWORKS if net.version == 4)
_V6 = tuple((net, kind) for net, kind in _NETWORKS if net.version == 6)

# IPv6 forms that carry an IPv4 address in their low 32 bits.
_EMBEDDING = tuple(
    (ipaddress.IPv6Network(net), form)
    for net, form in (
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("::/96", "IPv4-compatible"),
        ("::ffff:0:0:0/96", "IPv4-translated"),
        ("64:ff9b::/96", "NAT64"),
        ("64:ff9b:1::/48", "NAT64"),
    )
)


def classify(address: Address) -> str | None:
    """Why `address` is not public ("loopback", "private", ...), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        return _classify_v6(address)
    for network, kind in _V4:
        if address in network:
            return kind + (", cloud metadata" if address in CLOUD_METADATA else "")
    return None if address.is_global else "reserved"


def _classify_v6(address: ipaddress.IPv6Address) -> str | None:
    address = address if address.scope_id is None else ipaddress.IPv6Address(address.packed)
    for network, kind in _V6:
        if address in network:
            return kind + (", cloud metadata" if address in CLOUD_METADATA else "")
    inner = _embedded(address)
    if inner is not None:
        form, v4 = inner
        why = classify(v4)
        if why is not None:
            return f"{form} form of {v4}, {why}"
        if form in ("IPv4-compatible", "IPv4-translated"):
            return f"reserved ({form})"
        return None
    return None if address.is_global else "reserved"


def _embedded(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    for network, form in _EMBEDDING:
        if address in network:
            return form, ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "6to4", address.sixtofour
    if address.teredo is not None:
        server, client = address.teredo
        return "Teredo", client if classify(client) is not None else server
    return None


_PART = re.compile(r"^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$")


def numeric_host(host: str) -> Address | None:
    """The address a numeric host name stands for, in every spelling a C resolver accepts
    (inet_aton: 1 to 4 parts, each decimal, octal with a leading 0 or hex with 0x, the last
    part filling the remaining bytes; `0xa9fea9fe`, `2852039166`, `0251.0376.0251.0376`,
    `169.254.43518`), or an IPv6 literal with or without brackets; None for a name."""
    host = host.strip().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.match(p) for p in parts):
        return None
    values = [
        int(p[2:], 16) if p[:2].lower() == "0x" else int(p, 8 if p[0] == "0" else 10) for p in parts
    ]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(number)


_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def _name(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def parse_allowed(entry: str) -> Network | str:
    """One allow-list entry: an address or CIDR network, or a host name (lower-cased, IDNA);
    raises ValueError naming the entry and the forms allowed."""
    text = entry.strip()
    number = numeric_host(text.split("/", 1)[0]) if "/" in text else numeric_host(text)
    if number is not None or "/" in text:
        try:
            return ipaddress.ip_network(text.strip("[]"), strict=False)
        except ValueError:
            pass
        if number is not None and "/" not in text:
            return ipaddress.ip_network(number)
    name = _name(text)
    if _HOST.match(name):
        return name
    raise ValueError(
        f"{entry!r} is neither an address, a network in CIDR (e.g. '10.0.0.0/8', 'fd00::/8') "
        "nor a host name (e.g. 'intranet.example.org'); write one of those, not a URL"
    )


@dataclass(frozen=True)
class Refusal:
    """Why an address is not connected to (`reason`), and how to allow it (`hint`)."""

    reason: str
    hint: str

    def __str__(self) -> str:
        return f"{self.reason}; {self.hint}"


@dataclass(frozen=True)
class Reach:
    """What one fetch may connect to beyond public addresses: the networks and host names
    allowed, and the host of the source's own configured URL (all of its addresses)."""

    networks: tuple[Network, ...] = ()
    names: frozenset[str] = field(default_factory=frozenset)
    own: str | None = None  # host of the configured URL

    @classmethod
    def build(cls, configured: str | None, allowed: Iterable[str]) -> Reach:
        networks: list[Network] = []
        names: set[str] = set()
        for entry in allowed:
            parsed = parse_allowed(entry)
            if isinstance(parsed, str):
                names.add(parsed)
            else:
                networks.append(parsed)
        own = None if configured is None else _name(configured)
        return cls(tuple(networks), frozenset(names), own or None)

    def refusal(
        self,
        host: str,
        address: Address,
        resolve: Callable[[str], Iterable[Address]],
    ) -> Refusal | None:
        """Why connecting to `address` (for `host`) is refused, or None when it is allowed.
        `resolve` gives the addresses of the configured host, asked only when needed."""
        kind = classify(address)
        if kind is None:
            return None
        name = _name(host)
        if name in self.names:
            return None
        plain = _plain(address)
        if any(plain.version == n.version and plain in n for n in self.networks):
            return None
        # The source's own host is trusted with loopback and private addresses, never with
        # link-local ones (cloud metadata): a rebinding or hijacked DNS answer for the feed's own
        # name must not reach 169.254.169.254. Only an explicit allow_internal entry does.
        if "link-local" in kind or "cloud metadata" in kind:
            pass
        elif name == self.own:
            return None
        elif self.own is not None:
            own = numeric_host(self.own)
            if own is not None:
                if _plain(own) == plain:
                    return None
            elif plain in {_plain(a) for a in resolve(self.own)}:
                return None
        text = str(address)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            text = f"::ffff:{address.ipv4_mapped}"
        shown = f"{host} resolves to {text}" if numeric_host(host) != address else text
        return Refusal(
            f"refused: {shown}, which is not a public address ({kind})",
            f'if monitor should reach it, add "{plain}" (or its network, or the host name) to '
            "fetch.allow_internal, or to this source's allow_internal",
        )


def _plain(address: Address) -> Address:
    """An address without its IPv6 scope, and an IPv4-mapped one as IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:
            return ipaddress.IPv6Address(address.packed)
    return address
