"""Tessera Inbox's store: newest first, bounded, filtered by recipient; the code found in every
message otp-delivery really renders, in every language."""

from datetime import UTC, datetime

import pytest

from tessera_otp_delivery.bootstrap import CATALOGS
from tessera_otp_delivery.domain.messages import render
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.devinbox.store import Store, announcement, extract_code, html_to_text
from tessera_shared.i18n import SHARED_CATALOGS, Translator

LOCALES = ("en", "de", "fr", "it")
CODE_KINDS = [k for k in DeliveryKind if k.value.endswith("_code")]
NOTICE_KINDS = [k for k in DeliveryKind if not k.value.endswith("_code")]
NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
TRANSLATE = Translator([SHARED_CATALOGS, CATALOGS])


@pytest.mark.parametrize("code", ["4829", "042917", "0123456789"])
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", CODE_KINDS)
def test_the_code_is_found_in_the_text_html_and_sms_of_every_code_message(
    kind: DeliveryKind, locale: str, code: str
) -> None:
    # A month's validity puts a 5-digit number of minutes in the text: it must not win.
    message = render(kind, locale, TRANSLATE, product="Tessera", code=code, expires_in_s=2592000)
    assert "43200" in message.text
    assert extract_code(message.text) == code
    assert extract_code(html_to_text(message.html)) == code
    assert extract_code(message.sms) == code


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", NOTICE_KINDS)
def test_a_notice_has_no_code(kind: DeliveryKind, locale: str) -> None:
    message = render(kind, locale, TRANSLATE, product="Tessera", code=None, expires_in_s=None)
    assert extract_code(message.text) is None
    assert extract_code(message.sms) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Your code is 5521.", "5521"),
        ("Code: 778812, valid until 2026-12-07 10:30", "778812"),
        ("Meeting on 2026-12-07 at 10:30, call +41791234567", None),
        ("Only 123 digits, and 12345678901 too many", None),
    ],
)
def test_other_texts_give_the_first_standalone_run_of_4_to_10_digits(
    text: str, code: str | None
) -> None:
    assert extract_code(text) == code


def test_messages_are_listed_newest_first_with_increasing_ids() -> None:
    store = Store()
    first = store.add(channel="email", to="a@example.com", text="1111", received_at=NOW)
    second = store.add(channel="sms", to="+41790000001", text="2222 is it", received_at=NOW)
    assert [m.id for m in store.messages()] == [second.id, first.id]
    assert second.id > first.id
    assert (first.code, second.code) == ("1111", "2222")


def test_the_store_keeps_only_the_last_messages_up_to_its_capacity() -> None:
    store = Store(capacity=3)
    for n in range(5):
        store.add(channel="sms", to="+41790000001", text=f"code {n}", received_at=NOW)
    assert [m.text for m in store.messages()] == ["code 4", "code 3", "code 2"]


def test_the_recipient_filter_ignores_case_for_email_only() -> None:
    store = Store()
    store.add(channel="email", to="Jane@Example.com", text="x", received_at=NOW)
    store.add(channel="email", to="john@example.com", text="y", received_at=NOW)
    store.add(channel="sms", to="+41790000001", text="z", received_at=NOW)
    assert [m.text for m in store.messages(to="jane@example.COM")] == ["x"]
    assert [m.text for m in store.messages(to="+41790000001")] == ["z"]
    assert store.messages(to="+4179000000") == []


def test_clearing_empties_the_store_and_ids_are_not_reused() -> None:
    store = Store()
    before = store.add(channel="sms", to="+41790000001", text="1234", received_at=NOW)
    store.clear()
    assert store.messages() == []
    after = store.add(channel="sms", to="+41790000001", text="1234", received_at=NOW)
    assert after.id > before.id


def test_a_code_only_in_the_html_part_is_found() -> None:
    store = Store()
    message = store.add(
        channel="email",
        to="a@example.com",
        text="",
        html="<p>Your code:</p><p><b>918273</b></p>",
        received_at=NOW,
    )
    assert message.code == "918273"


def test_the_announcement_names_code_recipient_and_purpose() -> None:
    store = Store()
    with_purpose = store.add(
        channel="email",
        to="jane@example.com",
        text="Use this code:\n\n042917\n",
        purpose="registration",
        received_at=NOW,
    )
    assert announcement(with_purpose) == "code 042917 → jane@example.com (registration)"
    sms = store.add(channel="sms", to="+41790000001", text="042917 is it", received_at=NOW)
    assert announcement(sms) == "code 042917 → +41790000001"
    notice = store.add(channel="sms", to="+41790000001", text="Locked.", received_at=NOW)
    assert announcement(notice) == "sms without a code → +41790000001"
