"""The password policy (NIST SP 800-63B) and the shipped list of common passwords."""

from collections.abc import Mapping
from pathlib import Path

import pytest

from tessera_identity.domain.passwords import (
    PasswordPolicy,
    check_password,
    load_common_passwords,
    normalize_password,
)
from tessera_shared.errors import TesseraError

GUIDE_EXAMPLE = "securePassword123!"

POLICY = PasswordPolicy(common=frozenset({"password1", "letmein123"}))


@pytest.fixture(scope="module")
def shipped() -> frozenset[str]:
    return load_common_passwords()


def _rejected(password: str, policy: PasswordPolicy = POLICY) -> tuple[str, Mapping[str, object]]:
    with pytest.raises(TesseraError) as caught:
        check_password(password, policy)
    return caught.value.code, caught.value.params


# length


def test_defaults_follow_800_63b() -> None:
    assert (POLICY.min_length, POLICY.max_length) == (8, 128)


def test_password_shorter_than_the_minimum_is_too_short_with_the_minimum() -> None:
    assert _rejected("abcdefg") == ("password_too_short", {"min": 8})


def test_empty_password_is_too_short() -> None:
    assert _rejected("") == ("password_too_short", {"min": 8})


def test_password_of_exactly_the_minimum_length_passes() -> None:
    check_password("abcdefgh", POLICY)


def test_password_longer_than_the_maximum_is_too_long_with_the_maximum() -> None:
    assert _rejected("a" * 129) == ("password_too_long", {"max": 128})


def test_password_of_exactly_the_maximum_length_passes() -> None:
    check_password("a" * 128, POLICY)


def test_limits_of_a_custom_policy_appear_in_the_params() -> None:
    policy = PasswordPolicy(min_length=12, max_length=64, common=frozenset())
    assert _rejected("abcdefghijk", policy) == ("password_too_short", {"min": 12})
    assert _rejected("a" * 65, policy) == ("password_too_long", {"max": 64})


def test_length_counts_code_points_not_bytes() -> None:
    # Eight characters, 24 bytes in UTF-8.
    check_password("日本語のパスワ", PasswordPolicy(min_length=7, common=frozenset()))
    check_password("🔑🔑🔑🔑🔑🔑🔑🔑", POLICY)


# NFKC


def test_full_width_characters_count_once_each() -> None:
    assert _rejected("ｐａｓｓ") == ("password_too_short", {"min": 8})
    check_password("ｓｔａｒｇａｚｅｒ", POLICY)


def test_combining_sequences_are_composed_before_counting() -> None:
    decomposed = "e\u0301" * 4  # eight code points, four characters once composed
    assert len(decomposed) == 8
    assert _rejected(decomposed) == ("password_too_short", {"min": 8})


def test_ligatures_are_expanded_before_counting() -> None:
    assert _rejected("x\ufb03\ufb03") == ("password_too_short", {"min": 8})  # "xffiffi"
    check_password("xx\ufb03\ufb03", POLICY)  # "xxffiffi"


def test_normalized_password_is_the_nfkc_form() -> None:
    assert normalize_password("ｐａｓｓ\ufb03") == "passffi"


# blank


@pytest.mark.parametrize("password", [" " * 8, "\t \n \r   ", "\u3000" * 8, " " * 128])
def test_whitespace_only_password_is_blank(password: str) -> None:
    assert _rejected(password) == ("password_blank", {})


def test_password_with_spaces_inside_is_not_blank() -> None:
    check_password("  correct horse  ", POLICY)


# common


@pytest.mark.parametrize("password", ["password1", "PASSWORD1", "PassWord1", "LetMeIn123"])
def test_common_password_is_refused_whatever_its_case(password: str) -> None:
    assert _rejected(password) == ("password_too_common", {})


def test_full_width_spelling_of_a_common_password_is_refused() -> None:
    assert _rejected("ＰＡＳＳＷＯＲＤ１") == ("password_too_common", {})


def test_password_similar_to_a_common_one_passes() -> None:
    check_password("password12", POLICY)


def test_length_is_reported_before_commonness() -> None:
    policy = PasswordPolicy(common=frozenset({"abc"}))
    assert _rejected("abc", policy) == ("password_too_short", {"min": 8})


# no composition rules


@pytest.mark.parametrize(
    "password", ["abcdefghij", "ABCDEFGHIJ", "1029384756xyz", "correct horse battery staple"]
)
def test_no_composition_rules_are_applied(password: str) -> None:
    check_password(password, PasswordPolicy(common=frozenset()))


# policy


@pytest.mark.parametrize(("low", "high"), [(0, 128), (9, 8)])
def test_policy_with_impossible_limits_is_refused(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="min_length"):
        PasswordPolicy(min_length=low, max_length=high, common=frozenset())


def test_policy_cannot_be_built_without_a_common_list() -> None:
    with pytest.raises(TypeError):
        PasswordPolicy()  # type: ignore[call-arg]


# loading lists


def test_list_file_skips_comments_and_blank_lines_and_lower_cases(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("# a header\n\nHunter2\r\n   \n  Dragon  \n#comment\nｑｗｅｒｔｙ\n", "utf-8")
    assert load_common_passwords(path) == frozenset({"hunter2", "dragon", "qwerty"})


def test_loading_twice_reads_the_file_again(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("one\n", "utf-8")
    assert load_common_passwords(path) == {"one"}
    path.write_text("two\n", "utf-8")
    assert load_common_passwords(path) == {"two"}


def test_shipped_list_holds_the_top_ten_thousand(shipped: frozenset[str]) -> None:
    assert 9_000 <= len(shipped) <= 10_000


@pytest.mark.parametrize("password", ["password", "12345678", "qwerty123", "iloveyou", "123456"])
def test_shipped_list_contains_well_known_passwords(shipped: frozenset[str], password: str) -> None:
    assert password in shipped


def test_shipped_list_is_lower_cased_without_comments(shipped: frozenset[str]) -> None:
    assert all(entry == entry.lower() and entry for entry in shipped)
    assert not any(entry.startswith("#") for entry in shipped)


def test_shipped_list_file_states_its_source_and_licence() -> None:
    header = (
        Path(__file__).parents[2] / "src/tessera_identity/data/common-passwords.txt"
    ).read_text("utf-8")[:4000]
    assert "zxcvbn" in header
    assert "MIT" in header
    assert "Copyright (c) 2016 Daniel Wolf" in header


def test_shipped_policy_refuses_password1(shipped: frozenset[str]) -> None:
    assert "password1" in shipped
    policy = PasswordPolicy(common=shipped)
    assert _rejected("password1", policy) == ("password_too_common", {})
    assert _rejected("Password1", policy) == ("password_too_common", {})


def test_shipped_policy_accepts_the_api_guide_example(shipped: frozenset[str]) -> None:
    check_password(GUIDE_EXAMPLE, PasswordPolicy(common=shipped))
