"""SMS length: 160 GSM-7 septets or 70 UCS-2 units per single segment, 153/67 per part."""

import pytest

from tessera_otp_delivery.domain.sms import gsm7_length, segments


def test_plain_latin_text_counts_one_septet_per_character() -> None:
    assert gsm7_length("Hello, Zürich! 123") == 18


def test_extended_characters_count_two_septets() -> None:
    assert gsm7_length("€") == 2
    assert gsm7_length("[x]") == 5
    assert gsm7_length("^{}\\~|") == 12


def test_a_character_outside_gsm7_needs_ucs2() -> None:
    assert gsm7_length("Привет") is None
    assert gsm7_length("code 123 😀") is None
    assert gsm7_length("l’adresse") is None  # the typographic apostrophe is not GSM-7


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_text_fits_160_septets_in_one_segment_and_153_per_part_after(
    length: int, parts: int
) -> None:
    assert segments("a" * length) == parts


def test_extended_characters_fill_a_segment_twice_as_fast() -> None:
    assert segments("€" * 80) == 1
    assert segments("€" * 81) == 2
    assert segments("a" * 159 + "€") == 2


@pytest.mark.parametrize(("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_text_fits_70_units_in_one_segment_and_67_per_part_after(
    length: int, parts: int
) -> None:
    assert segments("ж" * length) == parts


def test_one_character_outside_gsm7_turns_the_whole_text_into_ucs2() -> None:
    assert segments("a" * 100) == 1
    assert segments("a" * 99 + "ж") == 2


def test_an_emoji_takes_two_ucs2_units() -> None:
    assert segments("😀" * 35) == 1
    assert segments("😀" * 36) == 2


def test_an_empty_text_is_one_segment() -> None:
    assert segments("") == 1
