"""Authenticator-app codes (RFC 6238: SHA-1, 6 digits, 30-second steps, ±1 step). Pure.

A code is accepted only for a step newer than the last accepted one, so a code cannot be
used twice, nor an older code after a newer one.
"""

import base64
import enum
import hmac
import io
from datetime import datetime

import msgspec
import pyotp
import segno

STEP_S = 30
DIGITS = 6
WINDOW = 1
"""Steps accepted before and after the current one: clocks drift, people type slowly."""


class TotpState(enum.StrEnum):
    """none → pending (setup) → active (confirm with a first code) → none (removed)."""

    NONE = "none"
    PENDING = "pending"
    ACTIVE = "active"


class TotpVerdict(enum.StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    REPLAYED = "replayed"


class Judgement(msgspec.Struct, frozen=True):
    verdict: TotpVerdict
    step: int = 0
    """The time step the code matched (to store as the last one used)."""


def new_secret() -> str:
    """160 random bits in base32, the length RFC 4226 recommends."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI authenticator apps import (as text or QR code)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).provisioning_uri(
        name=account, issuer_name=issuer
    )


def qr_svg_data_uri(uri: str) -> str:
    """The URI as a QR code, an SVG `data:` URI an `<img src>` can show directly.

    A standalone SVG document, with its namespace: segno's `svg_inline` leaves it out (fine
    inside HTML), and browsers then show a broken image.
    """
    svg = io.BytesIO()
    segno.make(uri, error="m").save(svg, kind="svg", xmldecl=False, scale=4, svgclass=None)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode()


def judge(secret: str, entered: str, now: datetime, last_step: int) -> Judgement:
    """Whether `entered` is the code of a step in the window that was not used yet."""
    entered = entered.strip().replace(" ", "")
    if len(entered) != DIGITS or not entered.isascii() or not entered.isdigit():
        return Judgement(TotpVerdict.WRONG)
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    current = totp.timecode(now)
    matched = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        # Every candidate is compared, in constant time, so timing tells nothing.
        if hmac.compare_digest(totp.generate_otp(step), entered) and matched is None:
            matched = step
    if matched is None:
        return Judgement(TotpVerdict.WRONG)
    if matched <= last_step:
        return Judgement(TotpVerdict.REPLAYED, matched)
    return Judgement(TotpVerdict.ACCEPTED, matched)
