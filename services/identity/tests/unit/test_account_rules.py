import pytest

from tessera_identity.domain.account import (
    NAME_MAX_LENGTH,
    check_locale,
    clean_name,
    may_reset_password,
)
from tessera_identity.domain.lockout import subject_of
from tessera_shared.errors import TesseraError


@pytest.mark.parametrize(
    ("status", "verified", "signs_in_unverified", "allowed"),
    [
        ("active", True, False, True),
        ("active", False, True, True),
        ("active", False, False, False),
        ("pending", False, False, False),
        ("pending", False, True, False),
        ("disabled", True, False, False),
    ],
)
def test_a_reset_code_goes_only_to_an_address_an_active_account_signs_in_with(
    status, verified, signs_in_unverified, allowed
):
    assert (
        may_reset_password(status, verified=verified, signs_in_unverified=signs_in_unverified)
        is allowed
    )


def test_a_name_is_trimmed_and_none_clears_it():
    assert clean_name("  Jane Smith\t") == "Jane Smith"
    assert clean_name("Zoë Łukasz-Ñúñez") == "Zoë Łukasz-Ñúñez"
    assert clean_name("x" * NAME_MAX_LENGTH) == "x" * NAME_MAX_LENGTH
    assert clean_name(None) is None


@pytest.mark.parametrize("raw", ["", "   ", "x" * (NAME_MAX_LENGTH + 1), "Jane\nSmith", "a\x00b"])
def test_an_empty_overlong_or_unprintable_name_is_refused_naming_the_field(raw):
    with pytest.raises(TesseraError) as refused:
        clean_name(raw)
    assert refused.value.code == "validation_failed"
    assert [(d.field, d.code) for d in refused.value.details] == [("name", "invalid_value")]


def test_only_the_four_languages_are_accepted():
    assert [check_locale(lang) for lang in ("en", "de", "fr", "it")] == ["en", "de", "fr", "it"]
    for other in ("es", "DE", "de-CH", ""):
        with pytest.raises(TesseraError, match="validation_failed"):
            check_locale(other)


def test_lockout_subjects_are_keyed_hashes_of_kind_and_username():
    subject = subject_of(b"key", "email", "ann@example.com")
    assert len(subject) == 64
    assert "ann" not in subject
    assert subject == subject_of(b"key", "email", "ann@example.com")
    assert subject != subject_of(b"other", "email", "ann@example.com")
    assert subject != subject_of(b"key", "phone", "ann@example.com")
