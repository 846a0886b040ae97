import msgspec
import pytest

from tessera_shared.http.json_body import MalformedJsonError, decode, decode_any, well_formed


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"email": "\xff@example.com"}',  # invalid UTF-8: UnicodeDecodeError in msgspec
        b'{"email": "jos\xe9@example.com"}',  # Latin-1
        b"[" * 1000 + b"]" * 1000,  # RecursionError in msgspec
        b'{"a": ' * 1000 + b"1" + b"}" * 1000,
    ],
)
def test_bytes_that_are_no_json_raise_one_error(body):
    with pytest.raises(MalformedJsonError):
        decode_any(body)
    assert not well_formed(body)


def test_json_of_the_wrong_shape_is_a_validation_error_not_malformed():
    with pytest.raises(msgspec.ValidationError):
        decode(b"[1]", msgspec.json.Decoder(dict[str, object]))
    assert well_formed(b"[1]")
    assert decode_any(b'{"email": "jos\xc3\xa9@example.com"}') == {"email": "josé@example.com"}
