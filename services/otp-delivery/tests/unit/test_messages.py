"""Every message kind in every language: translated, complete, safe HTML, one-segment SMS."""

from pathlib import Path

import pytest

import tessera_otp_delivery
from tessera_otp_delivery.bootstrap import CATALOGS
from tessera_otp_delivery.domain.messages import TEMPLATES, Rendered, render
from tessera_otp_delivery.domain.sms import gsm7_length, segments
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.i18n import SHARED_CATALOGS, Translator
from tessera_shared.testing.catalogs import assert_catalogs_complete

LOCALES = ("en", "de", "fr", "it")
CODE = "483920"
PRODUCT = "Tessera"
CODE_KINDS = {
    DeliveryKind.REGISTRATION_CODE,
    DeliveryKind.LOGIN_CODE,
    DeliveryKind.CREDENTIAL_CODE,
    DeliveryKind.PASSWORD_RESET_CODE,
    DeliveryKind.SECURITY_CODE,
}
NOTICE_KINDS = set(DeliveryKind) - CODE_KINDS
EVERY_MESSAGE = [(kind, locale) for kind in DeliveryKind for locale in LOCALES]
TRANSLATED = [(kind, locale) for kind in DeliveryKind for locale in LOCALES if locale != "en"]


@pytest.fixture(scope="module")
def translate() -> Translator:
    return Translator([SHARED_CATALOGS, CATALOGS])


def rendered(
    translate: Translator, kind: DeliveryKind, locale: str, *, product: str = PRODUCT
) -> Rendered:
    code = CODE if kind in CODE_KINDS else None
    return render(kind, locale, translate, product=product, code=code, expires_in_s=600)


def test_every_kind_has_a_template() -> None:
    assert set(TEMPLATES) == set(DeliveryKind)
    notices = {
        DeliveryKind.REGISTRATION_NOTICE,
        DeliveryKind.ACCOUNT_LOCKED_NOTICE,
        DeliveryKind.RECOVERY_CODE_USED_NOTICE,
        DeliveryKind.PASSWORD_CHANGED_NOTICE,
        DeliveryKind.EMAIL_CHANGE_NOTICE,
        DeliveryKind.ACCOUNT_DELETED_NOTICE,
        DeliveryKind.MFA_RESET_NOTICE,
    }
    assert notices == NOTICE_KINDS


@pytest.mark.parametrize(("kind", "locale"), EVERY_MESSAGE)
def test_every_part_of_every_message_has_text(
    translate: Translator, kind: DeliveryKind, locale: str
) -> None:
    message = rendered(translate, kind, locale)
    assert message.subject.strip()
    assert message.text.strip()
    assert message.html.strip()
    assert message.sms.strip()


@pytest.mark.parametrize(("kind", "locale"), EVERY_MESSAGE)
def test_no_placeholder_is_left_unfilled(
    translate: Translator, kind: DeliveryKind, locale: str
) -> None:
    message = rendered(translate, kind, locale)
    for part in (message.subject, message.text, message.html, message.sms):
        assert "%(" not in part


@pytest.mark.parametrize("kind", sorted(CODE_KINDS))
@pytest.mark.parametrize("locale", LOCALES)
def test_a_code_message_shows_the_code_in_text_html_and_sms(
    translate: Translator, kind: DeliveryKind, locale: str
) -> None:
    message = rendered(translate, kind, locale)
    assert CODE in message.text
    assert CODE in message.html
    assert CODE in message.sms


@pytest.mark.parametrize("kind", sorted(CODE_KINDS))
def test_a_code_message_states_how_many_minutes_the_code_is_valid(
    translate: Translator, kind: DeliveryKind
) -> None:
    message = render(kind, "en", translate, product=PRODUCT, code=CODE, expires_in_s=900)
    assert "15 minutes" in message.text
    assert "15 min" in message.sms


@pytest.mark.parametrize("kind", sorted(NOTICE_KINDS))
@pytest.mark.parametrize("locale", LOCALES)
def test_a_notice_contains_no_code_even_when_the_event_carries_one(
    translate: Translator, kind: DeliveryKind, locale: str
) -> None:
    message = render(kind, locale, translate, product=PRODUCT, code=CODE, expires_in_s=600)
    for part in (message.subject, message.text, message.html, message.sms):
        assert CODE not in part


@pytest.mark.parametrize(("kind", "locale"), TRANSLATED)
def test_a_non_english_message_is_really_translated(
    translate: Translator, kind: DeliveryKind, locale: str
) -> None:
    english = rendered(translate, kind, "en")
    message = rendered(translate, kind, locale)
    assert message.subject != english.subject
    assert message.text != english.text
    assert message.sms != english.sms
    assert f'<html lang="{locale}">' in message.html


@pytest.mark.parametrize(("kind", "locale"), EVERY_MESSAGE)
def test_the_product_name_appears_wherever_the_template_uses_it(
    translate: Translator, kind: DeliveryKind, locale: str
) -> None:
    template = TEMPLATES[kind]
    message = rendered(translate, kind, locale, product="Quokka")
    assert "Quokka" in message.text  # the footer names it in every message
    assert "Quokka" in message.html
    if "%(product)s" in template.subject:
        assert "Quokka" in message.subject
    if "%(product)s" in template.sms:
        assert "Quokka" in message.sms


@pytest.mark.parametrize(("kind", "locale"), EVERY_MESSAGE)
def test_the_html_escapes_the_product_name(
    translate: Translator, kind: DeliveryKind, locale: str
) -> None:
    message = rendered(translate, kind, locale, product="<b>&Co")
    assert "<b>" not in message.html
    assert "&lt;b&gt;&amp;Co" in message.html
    assert "<b>&Co" in message.text  # plain text stays as it is


@pytest.mark.parametrize(("kind", "locale"), EVERY_MESSAGE)
def test_every_sms_is_gsm7_and_fits_one_segment(
    translate: Translator, kind: DeliveryKind, locale: str
) -> None:
    sms = rendered(translate, kind, locale).sms
    assert gsm7_length(sms) is not None, f"needs UCS-2: {sms!r}"
    assert segments(sms) == 1, f"{gsm7_length(sms)} septets: {sms!r}"


def test_every_marked_text_is_translated_into_every_language() -> None:
    assert_catalogs_complete(Path(tessera_otp_delivery.__file__).parent, [CATALOGS])
