"""Turns one delivery request into an email or an SMS in the person's language."""

from tessera_otp_delivery.domain.messages import render
from tessera_otp_delivery.ports import Email, EmailSender, Sms, SmsSender
from tessera_shared.contracts.events import DeliveryRequested
from tessera_shared.i18n import SUPPORTED_LOCALES, Translator


class Deliverer:
    def __init__(
        self, email: EmailSender, sms: SmsSender, translate: Translator, product: str
    ) -> None:
        self._email = email
        self._sms = sms
        self._translate = translate
        self._product = product

    async def deliver(self, event: DeliveryRequested) -> None:
        """Send it; raises SendError when every provider of the channel failed."""
        locale = event.locale if event.locale in SUPPORTED_LOCALES else "en"
        message = render(
            event.kind,
            locale,
            self._translate,
            product=self._product,
            code=event.code,
            expires_in_s=event.expires_in_s,
        )
        if event.channel == "email":
            await self._email.send(
                Email(
                    id=event.id,
                    to=event.recipient,
                    subject=message.subject,
                    text=message.text,
                    html=message.html,
                    locale=locale,
                )
            )
        else:
            await self._sms.send(Sms(to=event.recipient, text=message.sms))
