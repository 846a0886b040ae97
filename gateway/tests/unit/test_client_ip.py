import pytest

from tessera_gateway.client_ip import (
    UNKNOWN,
    client_ip_in_scope,
    parse_ip,
    parse_trusted_proxies,
    resolve_client_ip,
    resolve_scheme,
    scheme_in_scope,
)

PROXIES = parse_trusted_proxies("10.0.0.0/8, 192.0.2.7, fd00::/8")
NONE = parse_trusted_proxies("")


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    assert resolve_client_ip("203.0.113.9", ["198.51.100.1"], NONE) == "203.0.113.9"


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored():
    assert resolve_client_ip("203.0.113.9", ["10.0.0.1, 198.51.100.1"], PROXIES) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client():
    assert resolve_client_ip("10.1.2.3", ["198.51.100.1"], PROXIES) == "198.51.100.1"


def test_the_right_most_untrusted_hop_wins_so_a_client_cannot_prepend_its_choice():
    chain = ["1.1.1.1, 198.51.100.1, 10.9.9.9"]
    assert resolve_client_ip("192.0.2.7", chain, PROXIES) == "198.51.100.1"


def test_several_forwarded_for_headers_read_as_one_list_in_order():
    headers = ["1.1.1.1", "198.51.100.1", "10.9.9.9"]
    assert resolve_client_ip("10.0.0.2", headers, PROXIES) == "198.51.100.1"


def test_when_every_hop_is_trusted_the_left_most_one_is_the_client():
    assert resolve_client_ip("10.0.0.2", ["10.0.0.5, 10.0.0.9"], PROXIES) == "10.0.0.5"


def test_a_trusted_proxy_without_a_forwarded_header_is_itself_the_client():
    assert resolve_client_ip("10.0.0.2", [], PROXIES) == "10.0.0.2"


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        (["garbage"], "10.0.0.2"),
        (["198.51.100.1, not-an-ip, 10.0.0.3"], "10.0.0.3"),
        (["198.51.100.1, , 10.0.0.3"], "10.0.0.3"),
        (["<script>"], "10.0.0.2"),
        (["999.1.1.1"], "10.0.0.2"),
    ],
)
def test_an_unreadable_hop_stops_the_walk_at_the_nearest_trusted_address(chain, expected):
    assert resolve_client_ip("10.0.0.2", chain, PROXIES) == expected


def test_ipv6_clients_and_proxies_are_handled_like_ipv4():
    assert resolve_client_ip("fd00::1", ["2001:db8::7"], PROXIES) == "2001:db8::7"
    assert resolve_client_ip("2001:db8::9", ["198.51.100.1"], PROXIES) == "2001:db8::9"


def test_ipv4_mapped_ipv6_peers_match_ipv4_proxies_and_print_as_ipv4():
    assert resolve_client_ip("::ffff:10.0.0.2", ["198.51.100.1"], PROXIES) == "198.51.100.1"
    assert resolve_client_ip("::ffff:203.0.113.9", [], NONE) == "203.0.113.9"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.9", "203.0.113.9"),
        (" 203.0.113.9 ", "203.0.113.9"),
        ("203.0.113.9:8443", "203.0.113.9"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_addresses_are_read_as_proxies_write_them(text, expected):
    assert str(parse_ip(text)) == expected


@pytest.mark.parametrize(
    "text", ["", "unknown", "_hidden", "1.2.3", "[2001:db8::1", "[::1]x", "1.2.3.4:port", "a:b"]
)
def test_anything_that_is_not_an_address_is_none(text):
    assert parse_ip(text) is None


def test_a_peer_that_is_no_ip_address_is_an_unknown_client():
    assert resolve_client_ip("testclient", ["198.51.100.1"], PROXIES) == UNKNOWN
    assert resolve_client_ip(None, [], PROXIES) == UNKNOWN


def test_trusted_proxies_accept_addresses_and_networks_and_refuse_garbage():
    assert parse_ip("10.200.0.1") in PROXIES
    assert parse_ip("192.0.2.7") in PROXIES
    assert parse_ip("192.0.2.8") not in PROXIES
    assert parse_ip("fd12::1") in PROXIES
    assert not NONE
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300'"):
        parse_trusted_proxies("10.0.0.0/8, 10.0.0.300")


def test_the_scheme_comes_from_a_trusted_proxy_and_never_from_anyone_else():
    assert resolve_scheme("http", "10.0.0.2", ["https"], PROXIES) == "https"
    assert resolve_scheme("http", "203.0.113.9", ["https"], PROXIES) == "http"
    assert resolve_scheme("http", "10.0.0.2", ["http, https"], PROXIES) == "https"
    assert resolve_scheme("http", "10.0.0.2", ["gopher"], PROXIES) == "http"
    assert resolve_scheme("https", "10.0.0.2", [], PROXIES) == "https"
    assert resolve_scheme("https", "203.0.113.9", ["http"], PROXIES) == "https"


def test_an_asgi_scope_is_read_with_repeated_headers_in_order():
    scope = {
        "type": "http",
        "scheme": "http",
        "client": ("10.0.0.2", 5555),
        "headers": [
            (b"x-forwarded-for", b"1.1.1.1"),
            (b"x-forwarded-proto", b"https"),
            (b"x-forwarded-for", b"198.51.100.1"),
        ],
    }
    assert client_ip_in_scope(scope, PROXIES) == "198.51.100.1"
    assert scheme_in_scope(scope, PROXIES) == "https"
    assert client_ip_in_scope({**scope, "client": None}, PROXIES) == UNKNOWN
