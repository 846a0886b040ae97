import pytest

from tessera_shared.http.middleware import incoming_request_id


def test_a_plain_caller_request_id_is_kept():
    assert incoming_request_id(b"req-42.a:b") == "req-42.a:b"


@pytest.mark.parametrize("raw", [None, b"", b"x" * 129, b"a b", b"<script>", "é".encode()])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_new_one(raw):
    made = incoming_request_id(raw)
    assert len(made) == 32
    assert made.isalnum()
    assert made != incoming_request_id(raw)
