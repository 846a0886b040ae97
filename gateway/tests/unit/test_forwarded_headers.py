from tessera_gateway.proxy import forwarded_headers


def test_the_first_of_a_repeated_header_is_forwarded_an_empty_one_and_others_are_not():
    sent = [
        (b"x-device-id", b"first"),
        (b"x-device-id", b"second"),
        (b"x-app-id", b""),
        (b"x-app-id", b"late"),
        (b"user-agent", "é".encode("latin-1")),
        (b"x-not-forwarded", b"nope"),
        (b"accept", b"application/json"),
    ]
    assert forwarded_headers(sent) == {
        "accept": "application/json",
        "user-agent": "é",
        "x-device-id": "first",
    }


def test_admin_and_internal_headers_a_client_sends_are_never_forwarded():
    sent = [
        (b"x-admin-key-id", b"tsa_forged00"),
        (b"x-admin-scopes", b"users:read users:write sessions:write audit:read"),
        (b"x-internal-token", b"guessed"),
        (b"accept", b"application/json"),
    ]
    assert forwarded_headers(sent) == {"accept": "application/json"}
