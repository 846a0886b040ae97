"""`python -m tessera_shared.devinbox`: SMTP and HTTP on one loop, bound to 127.0.0.1 only.

Settings: TESSERA_DEV_SMTP_PORT (1025) and TESSERA_DEV_INBOX_PORT (8025). A taken port or a bad
setting ends the start with one line on stderr and exit status 1, not a traceback.
"""

import asyncio
import contextlib
import errno
import signal
import sys

import msgspec
from aiohttp import web

from tessera_shared.config import ConfigError, load_config
from tessera_shared.devinbox.smtp import InboxHandler, protocol_factory
from tessera_shared.devinbox.store import Message, Store, announcement
from tessera_shared.devinbox.web import create_app
from tessera_shared.settings import Port

HOST = "127.0.0.1"
PREFIX = "TESSERA_DEV_"


class InboxSettings(msgspec.Struct, frozen=True, kw_only=True):
    smtp_port: Port = 1025
    """Where the inbox accepts email (plain SMTP, no TLS, no login)."""
    inbox_port: Port = 8025
    """The web page, the JSON API and the SMS webhook (`POST /sms`)."""


class StartError(Exception):
    """The inbox cannot start; the message is the one line shown."""


def print_received(message: Message) -> None:
    print(announcement(message), flush=True)


async def serve(settings: InboxSettings) -> None:
    """Runs until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    store = Store()
    try:
        smtp = await loop.create_server(
            protocol_factory(InboxHandler(store, print_received)), HOST, settings.smtp_port
        )
    except OSError as exc:
        raise StartError(_taken(settings.smtp_port, "SMTP_PORT", exc)) from None
    runner = web.AppRunner(create_app(store, print_received), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, HOST, settings.inbox_port).start()
    except OSError as exc:
        smtp.close()
        await runner.cleanup()
        raise StartError(_taken(settings.inbox_port, "INBOX_PORT", exc)) from None
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(
        f"Tessera Inbox ready: http://{HOST}:{settings.inbox_port}/ "
        f"(SMTP {HOST}:{settings.smtp_port}, SMS POST http://{HOST}:{settings.inbox_port}/sms)",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        smtp.close()
        await runner.cleanup()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(smtp.wait_closed(), 2)


def _taken(port: int, setting: str, exc: OSError) -> str:
    reason = (
        "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
    )
    return f"tessera-inbox: port {port} ({PREFIX}{setting}) {reason}"


def main() -> int:
    try:
        settings = load_config(InboxSettings, PREFIX)
        asyncio.run(serve(settings))
    except (ConfigError, StartError) as exc:
        print(f"tessera-inbox: {exc}" if isinstance(exc, ConfigError) else exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
