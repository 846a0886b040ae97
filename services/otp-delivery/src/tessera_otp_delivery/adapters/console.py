"""Prints messages to stdout, for local runs (`make run` shows the codes). Never in production."""

import sys

from tessera_otp_delivery.ports import Email, Sms


class ConsoleEmail:
    name = "console"

    async def send(self, email: Email) -> None:
        print(
            f"\n=== email to {email.to}: {email.subject}\n{email.text}", file=sys.stdout, flush=True
        )


class ConsoleSms:
    name = "console"

    async def send(self, sms: Sms) -> None:
        print(f"\n=== SMS to {sms.to}: {sms.text}\n", file=sys.stdout, flush=True)
