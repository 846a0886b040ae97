import pytest

from tessera_shared.i18n import SHARED_CATALOGS, Translator, negotiate


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("de", "de"),
        ("de-CH", "de"),
        ("fr-CA,fr;q=0.9", "fr"),
        ("IT-it", "it"),
        ("es, it;q=0.3", "it"),
        ("en;q=0.2, de;q=0.8", "de"),
        ("de;q=0, fr;q=0.1", "fr"),
        ("ja, zh;q=0.9", "en"),
        ("*", "en"),
        ("fr;q=abc, it;q=0.5", "it"),
        ("de;q=1.5, it;q=0.4", "it"),
        ("fr;q=0.5, de;q=0.5", "fr"),
        (",,;;", "en"),
    ],
)
def test_accept_language_is_negotiated_with_q_values_and_region_fallback(header, expected):
    assert negotiate(header) == expected


def test_translations_fill_parameters_in_each_language():
    translate = Translator([SHARED_CATALOGS])
    message = "This field must be at most %(limit)s characters long."
    assert translate("de", message, {"limit": 5}) == (
        "Dieses Feld darf höchstens 5 Zeichen lang sein."
    )
    assert translate("en", message, {"limit": 5}) == (
        "This field must be at most 5 characters long."
    )


def test_an_untranslated_text_falls_back_to_english():
    translate = Translator([SHARED_CATALOGS])
    assert translate("it", "Not in any catalog") == "Not in any catalog"
