"""SMS over HTTP: a generic JSON webhook, and a Twilio-compatible Messages API client."""

import base64
import json
from string import Template

import aiohttp

from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_otp_delivery.ports import SendError, Sms


class _HttpSms:
    name = "http"

    def __init__(self, settings: OtpDeliverySettings, client: aiohttp.ClientSession) -> None:
        self._settings = settings
        self._client = client
        self._timeout = aiohttp.ClientTimeout(total=settings.sms_timeout_s)

    async def _post(self, url: str, **kwargs: object) -> None:
        try:
            async with self._client.post(url, timeout=self._timeout, **kwargs) as answer:  # type: ignore[arg-type]
                if answer.status >= 300:
                    raise SendError(f"{self.name}: HTTP {answer.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"{self.name}: {type(exc).__name__}") from None


class WebhookSms(_HttpSms):
    """POSTs a JSON body made from a template; `$to`, `$text`, `$sender`, `$purpose` are
    JSON-escaped."""

    name = "webhook"

    async def send(self, sms: Sms) -> None:
        s = self._settings
        values = {"to": sms.to, "text": sms.text, "sender": s.sms_sender, "purpose": sms.purpose}
        escaped = {key: json.dumps(value)[1:-1] for key, value in values.items()}
        body = Template(s.sms_webhook_body).safe_substitute(escaped)
        headers = {"content-type": "application/json"}
        name, _, value = s.sms_webhook_auth_header.partition(":")
        if name.strip() and value.strip():
            headers[name.strip()] = value.strip()
        await self._post(s.sms_webhook_url, data=body.encode(), headers=headers)


class TwilioSms(_HttpSms):
    """Twilio's Messages API (and compatible services): form fields To, From, Body."""

    name = "twilio"

    async def send(self, sms: Sms) -> None:
        s = self._settings
        base = s.twilio_base_url.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{s.twilio_account_sid}/Messages.json"
        await self._post(
            url,
            data={"To": sms.to, "From": s.sms_sender, "Body": sms.text},
            headers={"authorization": basic_auth(s.twilio_account_sid, s.twilio_auth_token)},
        )


def basic_auth(user: str, password: str) -> str:
    """HTTP Basic credentials (aiohttp's BasicAuth is deprecated)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
