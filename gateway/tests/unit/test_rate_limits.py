import msgspec
import pytest

from tessera_gateway.config import GatewaySettings
from tessera_gateway.rate_limits import (
    Decision,
    GroupLimits,
    Limit,
    account_bucket,
    evaluate,
    ip_bucket,
    make_policy,
    parse_groups,
    per_minute,
    request_keys,
    username_in,
)
from tessera_gateway.routes import Group, checks_of
from tessera_gateway.throttle import Throttle, with_rate_limit_headers


def group_of(path: str) -> Group:
    route = checks_of(path)
    return route.group if route else "default"


POLICY = make_policy()
NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/v1/authenticate", "auth"),
        ("/v1/refresh-token", "default"),
        ("/v1/verify-2FA", "auth"),
        ("/auth/login", "auth"),
        ("/auth/verify-mfa", "auth"),
        ("/auth/recover-mfa", "auth"),
        ("/auth/reset-password", "auth"),
        ("/auth/login/refresh", "default"),
        ("/auth/validate-session", "default"),
        ("/auth/otp/code", "default"),
        ("/auth/register", "registration"),
        ("/auth/request-reset-password", "registration"),
        ("/v1/./authenticate/", "auth"),
        ("//v1/authenticate", "auth"),
        ("/v1/users/initiate-registration", "registration"),
        ("/v1/users/verify-registration", "registration"),
        ("/v1/users/./resend-code", "registration"),
        ("/v1/sessions", "default"),
        ("/v1/authenticated", "default"),
        ("/authx", "default"),
        ("/.well-known/jwks.json", "default"),
    ],
)
def test_each_path_belongs_to_its_route_group_however_it_is_spelled(path, group):
    assert group_of(path) == group


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:0db8:0001:0002::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "unknown"),
        ("", "unknown"),
    ],
)
def test_ipv6_clients_count_by_their_64_and_non_addresses_share_one_bucket(host, bucket):
    assert ip_bucket(host) == bucket


def test_two_addresses_in_one_ipv6_64_share_a_key_and_the_next_64_does_not():
    assert ip_bucket("2001:db8:0:1::1") == ip_bucket("2001:db8:0:1:ffff:ffff:ffff:ffff")
    assert ip_bucket("2001:db8:0:1::1") != ip_bucket("2001:db8:0:2::1")


def test_a_sign_in_counts_against_ip_account_and_device():
    keys = request_keys(
        POLICY,
        group_of("/v1/authenticate"),
        "203.0.113.7",
        username="Ann@Example.com",
        device_id="d1",
    )
    assert [k.suffix.rsplit(":", 1)[0] for k in keys] == [
        "auth:ip",
        "auth:account",
        "auth:device",
    ]
    assert keys[0].suffix == "auth:ip:203.0.113.7"
    assert [k.limit for k in keys] == [per_minute(5), per_minute(10), per_minute(10)]


def test_a_registration_counts_against_ip_and_api_key_but_not_the_device():
    keys = request_keys(
        POLICY,
        group_of("/v1/users/initiate-registration"),
        "203.0.113.7",
        username="ann@example.com",
        device_id="d1",
        api_key_id="tsk_abcdefgh",
    )
    assert [k.suffix for k in keys] == [
        "registration:ip:203.0.113.7",
        "registration:key:tsk_abcdefgh",
    ]
    assert [k.limit for k in keys] == [per_minute(10), per_minute(100)]


def test_any_other_route_counts_against_the_ip_alone():
    keys = request_keys(POLICY, group_of("/v1/sessions"), "2001:db8::1", device_id="d1")
    assert [(k.suffix, k.limit) for k in keys] == [("default:ip:2001:db8::/64", per_minute(300))]


def test_a_sign_in_without_username_or_device_counts_against_the_ip_alone():
    group = group_of("/v1/authenticate")
    keys = request_keys(POLICY, group, "203.0.113.7", username="  ", device_id="")
    assert [k.suffix for k in keys] == ["auth:ip:203.0.113.7"]


def test_the_same_account_spelled_differently_is_one_key_and_names_no_address():
    one = account_bucket("Ann@Example.com")
    assert one == account_bucket("  ann@example.COM ")
    assert one != account_bucket("bob@example.com")
    assert "example" not in (one or "")
    assert account_bucket("+41 79 123-45-67") == account_bucket("+41791234567")


def test_the_settings_set_the_per_ip_limits():
    policy = make_policy(auth_per_minute=3, registration_per_minute=4, default_per_minute=50)
    assert policy["auth"].per_ip == Limit(rate=3, period_s=60, burst=3)
    assert policy["registration"].per_ip == per_minute(4)
    assert policy["default"].per_ip == per_minute(50)


def test_the_settings_set_the_per_account_device_and_api_key_limits():
    policy = make_policy(account_per_minute=7, device_per_minute=8, api_key_per_minute=900)
    assert policy["auth"].per_account == per_minute(7)
    assert policy["auth"].per_device == per_minute(8)
    assert policy["registration"].per_api_key == per_minute(900)
    assert policy["default"] == GroupLimits(per_ip=per_minute(300))


def test_the_throttle_takes_every_limit_from_the_settings():
    settings = GatewaySettings(
        rate_limit_auth_per_minute=6,
        rate_limit_registration_per_minute=11,
        rate_limit_default_per_minute=301,
        rate_limit_account_per_minute=12,
        rate_limit_device_per_minute=13,
        rate_limit_api_key_per_minute=140,
        rate_limit_introspection_per_minute=602,
        rate_limit_introspection_api_key_per_minute=603,
    )
    throttle = Throttle.from_settings(settings, limiter=None)  # type: ignore[arg-type]
    assert throttle is not None
    assert throttle.policy == {
        "auth": GroupLimits(
            per_ip=per_minute(6), per_account=per_minute(12), per_device=per_minute(13)
        ),
        "registration": GroupLimits(per_ip=per_minute(11), per_api_key=per_minute(140)),
        "introspection": GroupLimits(per_ip=per_minute(602), per_api_key=per_minute(603)),
        "default": GroupLimits(per_ip=per_minute(301)),
    }


def test_the_default_settings_keep_the_documented_limits():
    throttle = Throttle.from_settings(GatewaySettings(), limiter=None)  # type: ignore[arg-type]
    assert throttle is not None
    assert throttle.policy == make_policy()
    assert throttle.policy["auth"].per_account == per_minute(10)
    assert throttle.policy["auth"].per_device == per_minute(10)
    assert throttle.policy["registration"].per_api_key == per_minute(100)
    assert throttle.policy["introspection"] == GroupLimits(
        per_ip=per_minute(600), per_api_key=per_minute(600)
    )


@pytest.mark.parametrize(
    ("body", "username"),
    [
        (b'{"username": "ann@example.com", "password": "x"}', "ann@example.com"),
        (b'{"password": "x"}', None),
        (b'{"username": 42}', None),
        (b'["ann@example.com"]', None),
        (b"not json", None),
        (b"", None),
        (b'{"username": "\xff@example.com"}', None),
        (b'{"username": "jos\xe9@example.com"}', None),
        (b'{"username": "ann@example.com", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}", None),
    ],
)
def test_the_username_is_read_from_a_json_body_and_anything_else_is_ignored(body, username):
    assert username_in(body) == username


def test_fail_open_groups_are_parsed_and_unknown_names_refused():
    assert parse_groups("default, registration") == {"default", "registration"}
    assert parse_groups("") == frozenset()
    with pytest.raises(ValueError, match="nope"):
        parse_groups("default,nope")


def test_the_settings_refuse_an_unknown_fail_open_group():
    msgspec.convert({"rate_limit_fail_open_groups": "auth, default"}, GatewaySettings)
    with pytest.raises(msgspec.ValidationError, match="rate_limit_fail_open_groups"):
        msgspec.convert({"rate_limit_fail_open_groups": "everything"}, GatewaySettings)


def test_a_limit_needs_a_positive_rate_burst_and_period():
    with pytest.raises(ValueError, match="limit"):
        Limit(rate=0, period_s=60, burst=1)


def run(limit: Limit, times_ms: list[int]) -> list[Decision]:
    """Requests at the given times against one key, as the Redis script would see them."""
    tat: int | None = None
    decisions = []
    for now in times_ms:
        decision, new_tats = evaluate([tat], [limit], now)
        if new_tats is not None:
            [tat] = new_tats
        decisions.append(decision)
    return decisions


def test_gcra_allows_the_burst_at_once_and_refuses_the_next_for_one_interval():
    decisions = run(per_minute(5), [NOW] * 6)
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    assert [d.reset_s for d in decisions[:5]] == [12, 24, 36, 48, 60]
    assert decisions[5].retry_after_s == 12
    assert decisions[5].headers() == {
        "ratelimit-limit": "5",
        "ratelimit-remaining": "0",
        "ratelimit-reset": "60",
        "retry-after": "12",
    }


def test_gcra_lets_one_more_request_in_per_emission_interval():
    times = [NOW] * 5 + [NOW + 11_999, NOW + 12_000, NOW + 12_001]
    assert [d.allowed for d in run(per_minute(5), times)] == [True] * 5 + [False, True, False]


def test_gcra_refills_the_whole_burst_after_a_quiet_period():
    times = [NOW] * 5 + [NOW + 60_000] * 5 + [NOW + 60_000]
    assert [d.allowed for d in run(per_minute(5), times)] == [True] * 10 + [False]


def test_a_steady_rate_at_the_limit_is_never_refused():
    times = [NOW + i * 12_000 for i in range(50)]
    assert all(d.allowed for d in run(per_minute(5), times))


def test_a_request_passes_only_when_every_key_allows_and_then_counts_against_all():
    tight, loose = per_minute(5), per_minute(10)
    full = NOW + 60_000  # the tight key has used its whole burst
    decision, new_tats = evaluate([full, None], [tight, loose], NOW)
    assert not decision.allowed
    assert new_tats is None  # nothing counted, not even against the key with room
    assert (decision.limit, decision.retry_after_s) == (5, 12)
    decision, new_tats = evaluate([None, NOW + 30_000], [tight, loose], NOW)
    assert decision.allowed
    assert new_tats == [NOW + 12_000, NOW + 36_000]
    # The loose key is the tighter one here: 4 left against the tight key's 4, but it resets later.
    assert (decision.limit, decision.remaining, decision.reset_s) == (10, 4, 36)


def test_of_two_refusing_keys_the_longer_wait_is_the_retry_after():
    decision, _ = evaluate([NOW + 60_000, NOW + 72_000], [per_minute(5), per_minute(10)], NOW)
    assert not decision.allowed
    assert (decision.limit, decision.retry_after_s) == (10, 18)


def test_the_gateways_rate_limit_headers_replace_the_upstreams_own():
    relayed = [("content-type", "application/json"), ("RateLimit-Limit", "1000")]
    ours = {"ratelimit-limit": "5", "ratelimit-remaining": "4", "ratelimit-reset": "12"}
    assert with_rate_limit_headers(relayed, ours) == [
        ("content-type", "application/json"),
        ("ratelimit-limit", "5"),
        ("ratelimit-remaining", "4"),
        ("ratelimit-reset", "12"),
    ]
    assert with_rate_limit_headers(relayed, {}) == relayed
