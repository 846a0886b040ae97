"""NATS URL settings: one server or a comma-separated list of a cluster's servers."""

import pytest

from tessera_shared.config import ConfigError
from tessera_shared.nats import (
    NatsConnection,
    check_servers_setting,
    parse_servers,
    redact,
    shared_credentials,
)


def test_one_url_is_a_list_of_one():
    assert parse_servers("nats://127.0.0.1:4222") == ["nats://127.0.0.1:4222"]


def test_a_comma_separated_list_is_split_and_trimmed():
    value = "nats://a:4222, nats://user:pa%40ss@b:4222 ,tls://c:4443"
    assert parse_servers(value) == [
        "nats://a:4222",
        "nats://user:pa%40ss@b:4222",
        "tls://c:4443",
    ]


def test_a_url_without_port_is_accepted_as_the_client_uses_4222():
    assert parse_servers("nats://nats.nats.svc") == ["nats://nats.nats.svc"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "no server given"),
        ("nats://a:4222,", "entry 2 of 2 is empty"),
        ("nats://a:4222,,nats://b:4222", "entry 2 of 3 is empty"),
        ("a:4222", "the URL does not start with one of nats://"),
        ("nats://a:4222,http://b:4222", "entry 2 of 2 does not start with one of nats://"),
        ("nats://a:42x22", "the URL has an invalid port"),
        ("nats://a:99999", "the URL has an invalid port"),
        ("nats://:4222", "the URL has no host"),
        ("nats://u:secret@:4222", "the URL has no host"),
        ("nats://a:4222/x", "the URL has a path or query"),
        ("nats://a:4222 nats://b:4222", "the URL contains a space"),
    ],
)
def test_a_malformed_list_says_which_entry_and_why(value, reason):
    with pytest.raises(ValueError, match="^" + reason):
        parse_servers(value)


def test_the_startup_error_names_the_variable_and_never_the_password():
    with pytest.raises(ConfigError) as caught:
        check_servers_setting("nats://u:hunter2@a:4222,nats://u:hunter2@:4222", "X_NATS_URL")
    message = str(caught.value)
    assert message.startswith("X_NATS_URL is invalid: entry 2 of 2 has no host")
    assert "hunter2" not in message


def test_logs_show_host_and_port_without_credentials():
    assert redact("nats://user:pass@b.example:4222") == "nats://b.example:4222"
    assert redact("tls://token@c:4443") == "tls://c:4443"
    assert redact("nats://[::1]:4222") == "nats://[::1]:4222"


def test_the_connection_is_given_every_server_of_the_list():
    connection = NatsConnection("nats://a:1,nats://b:2", "t")
    assert connection.servers == ["nats://a:1", "nats://b:2"]
    assert connection.connected_url is None


def test_credentials_all_urls_share_become_connect_options():
    assert shared_credentials(["nats://a:1", "nats://b:2"]) == {}
    assert shared_credentials(["nats://u:p%40ss@a:1", "nats://b:2", "nats://u:p%40ss@c:3"]) == {
        "user": "u",
        "password": "p@ss",
    }
    assert shared_credentials(["nats://tok@a:1"]) == {"token": "tok"}
    # Different credentials per server: each URL keeps its own.
    assert shared_credentials(["nats://u:p@a:1", "nats://v:q@b:2"]) == {}
