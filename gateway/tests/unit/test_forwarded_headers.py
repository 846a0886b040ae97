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
