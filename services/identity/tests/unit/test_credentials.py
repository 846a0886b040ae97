"""Email and phone normalization, login-name guessing and display masking."""

from collections.abc import Callable

import phonenumbers
import pytest
from email_validator import EmailNotValidError

from tessera_identity.domain import credentials
from tessera_identity.domain.credentials import (
    CredentialType,
    guess_type,
    normalize,
    normalize_email,
    normalize_phone,
    obfuscate_email,
    obfuscate_phone,
)
from tessera_shared.errors import TesseraError


def _raises_code(code: str, call: Callable[[], object]) -> None:
    with pytest.raises(TesseraError) as caught:
        call()
    assert caught.value.code == code


def _fail_if_called(*_args: object, **_kwargs: object) -> object:
    raise AssertionError("the parser must not see over-long input")


# email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("john@example.com", "john@example.com"),
        ("John.Doe@Example.COM", "john.doe@example.com"),
        ("ÄNNE@Bücher.de", "änne@bücher.de"),
    ],
)
def test_email_is_lower_cased_as_a_whole(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


def test_email_with_surrounding_whitespace_is_the_same_address() -> None:
    assert normalize_email("  john@example.com \t") == "john@example.com"


def test_punycode_and_unicode_domains_normalize_to_the_same_address() -> None:
    assert normalize_email("user@xn--bcher-kva.de") == normalize_email("USER@bücher.de")
    assert normalize_email("user@xn--bcher-kva.de") == "user@bücher.de"


def test_email_local_part_is_unicode_normalized_by_the_library() -> None:
    decomposed = "jose\u0301@example.com"
    assert normalize_email(decomposed) == "jos\u00e9@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "plainaddress",
        "@example.com",
        "john@",
        "john@@example.com",
        "jo hn@example.com",
        "john@localhost",
        "john@[192.0.2.1]",
        '"john"@example.com',
        "john..doe@example.com",
        "john@example..com",
    ],
)
def test_malformed_email_is_invalid(raw: str) -> None:
    _raises_code("invalid_email", lambda: normalize_email(raw))


def test_email_longer_than_320_chars_is_refused_before_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(credentials, "validate_email", _fail_if_called)
    raw = "a@" + "b" * 315 + ".com"
    assert len(raw) == 321
    _raises_code("invalid_email", lambda: normalize_email(raw))


def test_email_of_exactly_320_chars_reaches_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def recording(raw: str, **_kwargs: object) -> object:
        seen.append(raw)
        raise EmailNotValidError("too long")

    monkeypatch.setattr(credentials, "validate_email", recording)
    raw = "a@" + "b" * 314 + ".com"
    assert len(raw) == 320
    _raises_code("invalid_email", lambda: normalize_email(raw))
    assert seen == [raw]


# phone


def test_international_phone_with_spaces_becomes_e164() -> None:
    assert normalize_phone("+41 79 123 45 67") == "+41791234567"


@pytest.mark.parametrize("raw", ["+41-79-123-45-67", "+41 (0)79 123 45 67", "tel:+41791234567"])
def test_common_phone_spellings_become_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+41791234567"


def test_national_phone_without_region_is_invalid() -> None:
    _raises_code("invalid_phone", lambda: normalize_phone("079 123 45 67"))


def test_national_phone_with_default_region_is_valid() -> None:
    assert normalize_phone("079 123 45 67", default_region="CH") == "+41791234567"


def test_international_prefix_wins_over_the_default_region() -> None:
    assert normalize_phone("+41 79 123 45 67", default_region="US") == "+41791234567"


@pytest.mark.parametrize(
    "raw",
    ["", "hello", "+", "+41 12", "+999 123 456 789", "+41 79 123 45 67 ext. 12"],
)
def test_garbage_or_impossible_phone_is_invalid(raw: str) -> None:
    _raises_code("invalid_phone", lambda: normalize_phone(raw))


def test_unknown_default_region_makes_a_national_number_invalid() -> None:
    _raises_code("invalid_phone", lambda: normalize_phone("079 123 45 67", default_region="XX"))


def test_phone_longer_than_32_chars_is_refused_before_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(phonenumbers, "parse", _fail_if_called)
    raw = "+41 79 123 45 67" + " " * 17
    assert len(raw) == 33
    _raises_code("invalid_phone", lambda: normalize_phone(raw))


def test_phone_of_exactly_32_chars_is_still_parsed() -> None:
    raw = "+41 79 123 45 67" + " " * 16
    assert len(raw) == 32
    assert normalize_phone(raw) == "+41791234567"


# dispatch and guessing


def test_normalize_dispatches_on_the_credential_type() -> None:
    assert normalize(CredentialType.EMAIL, "John@Example.com") == "john@example.com"
    assert normalize(CredentialType.PHONE, "+41 79 123 45 67") == "+41791234567"
    _raises_code("invalid_email", lambda: normalize(CredentialType.EMAIL, "+41791234567"))
    _raises_code("invalid_phone", lambda: normalize(CredentialType.PHONE, "john@example.com"))


def test_credential_types_have_stable_wire_values() -> None:
    assert [t.value for t in CredentialType] == ["email", "phone"]
    assert CredentialType("email") is CredentialType.EMAIL


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("john@example.com", CredentialType.EMAIL),
        ("not-an-email@", CredentialType.EMAIL),
        ("+41791234567", CredentialType.PHONE),
        ("079 123 45 67", CredentialType.PHONE),
        ("john", CredentialType.PHONE),
    ],
)
def test_username_with_an_at_sign_is_an_email_otherwise_a_phone(
    username: str, expected: CredentialType
) -> None:
    assert guess_type(username) is expected


# obfuscation


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("john@example.com", "j***n@example.com"),
        ("abc@example.com", "a***c@example.com"),
        ("jo@example.com", "j***@example.com"),
        ("j@example.com", "j***@example.com"),
        ("änne@bücher.de", "ä***e@bücher.de"),
    ],
)
def test_obfuscated_email_keeps_only_the_edges_of_the_local_part(email: str, expected: str) -> None:
    assert obfuscate_email(email) == expected


def test_obfuscated_email_does_not_reveal_the_local_part_length() -> None:
    assert len(obfuscate_email("ab1@x.ch")) == len(obfuscate_email("abcdefghij1@x.ch"))


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+41791234567", "+41*******67"),
        ("+14155552671", "+1********71"),
        ("+447911123456", "+44********56"),
    ],
)
def test_obfuscated_phone_keeps_country_code_and_last_two_digits(e164: str, expected: str) -> None:
    assert obfuscate_phone(e164) == expected


@pytest.mark.parametrize("raw", ["079 123 45 67", "+41 79 123 45 67", "hello"])
def test_obfuscating_a_phone_that_is_not_e164_is_a_programming_error(raw: str) -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        obfuscate_phone(raw)
