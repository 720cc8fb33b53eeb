"""The address classifier, numeric host spellings, allow lists and the connect-time check."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import Source
from monitor.errors import FetchError
from monitor.sources.fetch import Fetcher, FetchSettings, Refused
from monitor.sources.reach import Reach, classify, numeric_host, parse_allowed
from tests.servers import LocalServer, respond

v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
v6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


def _part(value: int, style: str) -> str:
    return {"dec": str(value), "hex": hex(value), "oct": "0" + oct(value)[2:]}[style]


@st.composite
def spelling(draw: st.DrawFn) -> tuple[ipaddress.IPv4Address, str]:
    """An IPv4 address and one of its inet_aton spellings: 1 to 4 parts, each in decimal, hex
    or octal, the last one filling the bytes left."""
    address = draw(v4)
    parts = draw(st.integers(1, 4))
    raw = address.packed
    head = list(raw[: parts - 1])
    last = int.from_bytes(raw[parts - 1 :], "big")
    styles = draw(st.lists(st.sampled_from(["dec", "hex", "oct"]), min_size=parts, max_size=parts))
    text = ".".join(_part(v, s) for v, s in zip([*head, last], styles, strict=True))
    return address, text


@given(spelling())
def test_every_numeric_spelling_is_read_as_its_address(
    case: tuple[ipaddress.IPv4Address, str],
) -> None:
    address, text = case
    assert numeric_host(text) == address


@given(spelling())
def test_numeric_spellings_agree_with_the_c_resolver(
    case: tuple[ipaddress.IPv4Address, str],
) -> None:
    address, text = case
    assert socket.inet_aton(text) == address.packed


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("0xa9fea9fe", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("[::ffff:169.254.169.254]", "::ffff:169.254.169.254"),
        ("fd00:ec2::254", "fd00:ec2::254"),
    ],
)
def test_the_issue_spellings_are_cloud_metadata(host: str, address: str) -> None:
    found = numeric_host(host)
    assert found == ipaddress.ip_address(address)
    kind = classify(found)
    assert kind is not None and "cloud metadata" in kind


@pytest.mark.parametrize("host", ["example.org", "1.2.3.4.5", "0x", "08.1.1.1", "256.1.1.1", "a.1"])
def test_names_and_impossible_numbers_are_not_numeric(host: str) -> None:
    assert numeric_host(host) is None


@given(v4)
def test_what_python_calls_not_global_is_refused(address: ipaddress.IPv4Address) -> None:
    if not address.is_global or address.is_multicast:
        assert classify(address) is not None


@given(v6)
def test_what_python_calls_not_global_is_refused_v6(address: ipaddress.IPv6Address) -> None:
    if not address.is_global or address.is_multicast:
        assert classify(address) is not None


@given(v4)
def test_ipv6_forms_of_an_ipv4_address_share_its_verdict(address: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(address))
    for form in (mapped, nat64):
        assert (classify(form) is None) == (classify(address) is None), form
    compatible = ipaddress.IPv6Address(int(address))
    if classify(address) is not None:
        assert classify(compatible) is not None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.3", "loopback"),
        ("10.1.2.3", "private"),
        ("172.31.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local, cloud metadata"),
        ("100.100.100.200", "shared (carrier-grade NAT), cloud metadata"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("255.255.255.255", "reserved"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd00:ec2::254", "unique-local, cloud metadata"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.1", "IPv4-mapped form of 10.0.0.1, private"),
        ("::127.0.0.1", "IPv4-compatible form of 127.0.0.1, loopback"),
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_classify_names_the_kind(address: str, kind: str | None) -> None:
    assert classify(ipaddress.ip_address(address)) == kind


def test_allow_list_entries_are_addresses_networks_or_names() -> None:
    assert parse_allowed("10.0.0.0/8") == ipaddress.ip_network("10.0.0.0/8")
    assert parse_allowed("127.0.0.3") == ipaddress.ip_network("127.0.0.3/32")
    assert parse_allowed("fd00::/8") == ipaddress.ip_network("fd00::/8")
    assert parse_allowed("Intranet.Example.org.") == "intranet.example.org"
    for bad in ("http://10.0.0.1/", "10.0.0.0/33", "a b"):
        with pytest.raises(ValueError, match="neither an address"):
            parse_allowed(bad)
    with pytest.raises(ValueError, match="allow_internal"):
        Source(name="s", kind="feed", url="http://x.example/", allow_internal=("http://x/",))


def test_reach_allows_the_configured_host_networks_and_names() -> None:
    never = _never
    loop = ipaddress.ip_address("127.0.0.3")
    assert Reach.build("127.0.0.1", ()).refusal("127.0.0.3", loop, never) is not None
    assert Reach.build("127.0.0.3", ()).refusal("127.0.0.3", loop, never) is None
    assert Reach.build(None, ("127.0.0.0/24",)).refusal("x.test", loop, never) is None
    assert Reach.build(None, ("x.test",)).refusal("X.test", loop, never) is None
    assert Reach.build(None, ("y.test",)).refusal("x.test", loop, never) is not None
    # A configured name allows the addresses it resolves to, for other names too.
    assert Reach.build("feed.test", ()).refusal("other.test", loop, lambda n: [loop]) is None
    public = ipaddress.ip_address("8.8.8.8")
    assert Reach.build(None, ()).refusal("dns.google", public, never) is None


def test_the_check_is_made_on_the_resolved_address_when_connecting() -> None:
    """`localhost` is a name: no pre-check sees it; the connect-time check refuses what it
    resolves to, for a source configured on another address, and allows it when listed."""
    with (
        LocalServer("127.0.0.1") as server,
        Fetcher(FetchSettings(user_agent="t", retries=0, delay=0)) as fetcher,
    ):
        server.route("/x", respond(200, b"x"))
        url = f"http://localhost:{server.port}/x"
        with pytest.raises(Refused) as info:
            fetcher.get(url, source_url="http://127.0.0.2/feed")
        assert (
            "localhost resolves to" in info.value.reason and "allow_internal" in info.value.reason
        )
        assert info.value.attempts and info.value.attempts[0].error is not None
        assert not server.requests
        assert (
            fetcher.get(url, source_url="http://127.0.0.2/feed", allow=("localhost",)).body == b"x"
        )
        # The URL asked for counts as configured when no source URL is given (monitor compare).
        assert fetcher.get(url).body == b"x"
        # A source configured by name may reach that name's addresses, however spelled.
        own = f"http://localhost:{server.port}/feed"
        assert fetcher.get(server.url("/x"), source_url=own).body == b"x"
        assert fetcher.get(f"http://0x7f000001:{server.port}/x", source_url=own).body == b"x"
        assert isinstance(info.value, FetchError)


def _never(name: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return []


@given(st.one_of(v4, v6))
def test_a_refusal_names_the_address_and_the_keys_to_set(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    refusal = Reach.build("feeds.example.org", ()).refusal("h.test", address, _never)
    if classify(address) is None:
        assert refusal is None
        return
    assert refusal is not None
    plain = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    assert f'"{plain or address}"' in refusal.hint
    assert "fetch.allow_internal" in refusal.hint and "allow_internal" in refusal.hint
    assert "h.test resolves to" in refusal.reason


@given(st.one_of(v4, v6), st.integers(0, 128))
def test_an_address_inside_an_allowed_network_is_allowed(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, prefix: int
) -> None:
    network = ipaddress.ip_network(f"{address}/{min(prefix, address.max_prefixlen)}", strict=False)
    reach = Reach.build("feeds.example.org", (str(network),))
    assert reach.refusal("h.test", address, _never) is None
    after = int(network.broadcast_address) + 1
    if after < 2**address.max_prefixlen:
        outside = type(address)(after)
        if classify(outside) is not None:
            assert reach.refusal("h.test", outside, _never) is not None


def test_the_sources_own_host_never_reaches_link_local_or_cloud_metadata() -> None:
    """A rebinding or hijacked DNS answer for the feed's own name must not reach the metadata
    service: the own-host rule trusts loopback and private addresses, not link-local ones."""
    metadata = ipaddress.ip_address("169.254.169.254")
    aws_v6 = ipaddress.ip_address("fd00:ec2::254")
    private = ipaddress.ip_address("10.1.2.3")
    own = Reach.build("feeds.example.org", ())
    assert own.refusal("feeds.example.org", metadata, lambda n: [metadata]) is not None
    assert own.refusal("feeds.example.org", aws_v6, lambda n: [aws_v6]) is not None
    assert own.refusal("feeds.example.org", private, lambda n: [private]) is None
    numeric = Reach.build("169.254.169.254", ())  # even typed as the source's own URL
    assert numeric.refusal("169.254.169.254", metadata, _never) is not None
    # only an explicit entry allows it
    allowed = Reach.build("feeds.example.org", ("169.254.169.254",))
    assert allowed.refusal("feeds.example.org", metadata, lambda n: [metadata]) is None
