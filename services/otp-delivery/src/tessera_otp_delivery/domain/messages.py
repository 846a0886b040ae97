"""What each kind of message says, in the person's language. Pure (texts from the catalogs)."""

import html

import msgspec

from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.i18n import N_, Translator


class Template(msgspec.Struct, frozen=True):
    subject: str
    lines: tuple[str, ...]
    """Paragraphs of the email; `%(code)s` marks where the code stands out."""
    sms: str


TEMPLATES: dict[DeliveryKind, Template] = {
    DeliveryKind.REGISTRATION_CODE: Template(
        N_("Your %(product)s verification code"),
        (
            N_("Use this code to complete your registration:"),
            "%(code)s",
            N_("The code is valid for %(minutes)s minutes."),
            N_("If you did not try to create an account, you can ignore this message."),
        ),
        N_("%(code)s is your %(product)s verification code. Valid for %(minutes)s min."),
    ),
    DeliveryKind.LOGIN_CODE: Template(
        N_("Your %(product)s sign-in code"),
        (
            N_("Use this code to sign in:"),
            "%(code)s",
            N_("The code is valid for %(minutes)s minutes."),
            N_("If you did not try to sign in, change your password now."),
        ),
        N_("%(code)s is your %(product)s sign-in code. Valid for %(minutes)s min."),
    ),
    DeliveryKind.CREDENTIAL_CODE: Template(
        N_("Confirm your new %(product)s address"),
        (
            N_("Use this code to confirm this address for your account:"),
            "%(code)s",
            N_("The code is valid for %(minutes)s minutes."),
            N_("If you did not ask for this, you can ignore this message."),
        ),
        N_("%(code)s is your %(product)s confirmation code. Valid for %(minutes)s min."),
    ),
    DeliveryKind.PASSWORD_RESET_CODE: Template(
        N_("Reset your %(product)s password"),
        (
            N_("Use this code to choose a new password:"),
            "%(code)s",
            N_("The code is valid for %(minutes)s minutes."),
            N_(
                "If you did not ask to reset your password, ignore this message. Your password "
                "stays unchanged."
            ),
        ),
        N_("%(code)s is your %(product)s password reset code. Valid for %(minutes)s min."),
    ),
    DeliveryKind.REGISTRATION_NOTICE: Template(
        N_("Someone tried to register with your address"),
        (
            N_(
                "Someone tried to create a new %(product)s account with this address, which "
                "already belongs to your account."
            ),
            N_(
                "If it was you, sign in instead, or reset your password if you forgot it. If it "
                "was not you, you can ignore this message: nothing has changed."
            ),
        ),
        N_(
            "Someone tried to register a %(product)s account with your number. If it was not "
            "you, ignore this message."
        ),
    ),
    DeliveryKind.ACCOUNT_LOCKED_NOTICE: Template(
        N_("Your %(product)s account is temporarily locked"),
        (
            N_(
                "There were too many failed sign-in attempts on your account, so signing in is "
                "blocked for a while."
            ),
            N_(
                "If this was not you, someone may know your address: consider changing your "
                "password."
            ),
        ),
        N_("%(product)s: too many failed sign-in attempts. Your account is locked for a while."),
    ),
    DeliveryKind.SECURITY_CODE: Template(
        N_("Confirm a security change to your %(product)s account"),
        (
            N_("Use this code to confirm the change to the sign-in security of your account:"),
            "%(code)s",
            N_("The code is valid for %(minutes)s minutes."),
            N_(
                "If you did not ask for this change, do not share the code and change your "
                "password now."
            ),
        ),
        N_("%(code)s is your %(product)s security code. Valid for %(minutes)s min."),
    ),
    DeliveryKind.RECOVERY_CODE_USED_NOTICE: Template(
        N_("A recovery code of your %(product)s account was used"),
        (
            N_("One of your recovery codes was just used to sign in to your %(product)s account."),
            N_(
                "If it was you, consider generating new recovery codes. If it was not you, change "
                "your password and generate new recovery codes now."
            ),
        ),
        N_(
            "%(product)s: a recovery code was just used to sign in. If it was not you, change "
            "your password and generate new recovery codes now."
        ),
    ),
    DeliveryKind.PASSWORD_CHANGED_NOTICE: Template(
        N_("Your %(product)s password was changed"),
        (
            N_(
                "The password of your %(product)s account was just changed or reset, and all "
                "other sessions were signed out."
            ),
            N_(
                "If it was you, there is nothing more to do. If it was not you, reset your "
                'password now with "Forgot password" and contact support.'
            ),
        ),
        N_(
            "%(product)s: your password was just changed. If it was not you, reset it now with "
            '"Forgot password" and contact support.'
        ),
    ),
    DeliveryKind.EMAIL_CHANGE_NOTICE: Template(
        N_("A change of your %(product)s email address was requested"),
        (
            N_(
                "Someone asked to change the email address of your %(product)s account from this "
                "address to another one."
            ),
            N_(
                "If it was you, confirm the change with the code sent to the new address. If it "
                "was not you, change your password now: the address only changes once the code "
                "sent to the new address is entered."
            ),
        ),
        N_(
            "%(product)s: someone asked to change the email address of your account. If it was "
            "not you, change your password now."
        ),
    ),
    DeliveryKind.ACCOUNT_DELETED_NOTICE: Template(
        N_("Your %(product)s account was deleted"),
        (
            N_(
                "Your %(product)s account and its data were deleted at your request, and all its "
                "sessions were signed out."
            ),
            N_(
                "If it was you, there is nothing more to do. If it was not you, contact support at "
                "once: the account cannot be restored, but you can register again."
            ),
        ),
        N_(
            "%(product)s: your account and its data were deleted at your request. If it was not "
            "you, contact support at once."
        ),
    ),
    DeliveryKind.MFA_RESET_NOTICE: Template(
        N_("Two-step verification of your %(product)s account was turned off"),
        (
            N_(
                "After a request to our support team, the second factors of your %(product)s "
                "account were removed: the authenticator app and the recovery codes. Two-step "
                "verification is now off."
            ),
            N_(
                "If you asked for this, you can set up two-step verification again once you are "
                "signed in. If you did not, contact support and change your password now."
            ),
        ),
        N_(
            "%(product)s: support turned off two-step verification for your account. If you did "
            "not ask for it, contact support and change your password now."
        ),
    ),
}


class Rendered(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    text: str
    html: str
    sms: str


def render(
    kind: DeliveryKind,
    locale: str,
    translate: Translator,
    *,
    product: str,
    code: str | None,
    expires_in_s: int | None,
) -> Rendered:
    """Subject, plain text, HTML and SMS text of one message."""
    template = TEMPLATES[kind]
    params = {
        "product": product,
        "code": code or "",
        "minutes": max(1, (expires_in_s or 0) // 60),
    }
    lines = [translate(locale, line, params) for line in template.lines]
    html_lines = [
        f'<p style="font-size:28px;letter-spacing:6px;font-weight:bold">{html.escape(text)}</p>'
        if line == "%(code)s"
        else f"<p>{html.escape(text)}</p>"
        for line, text in zip(template.lines, lines, strict=True)
    ]
    footer = translate(locale, N_("This message was sent by %(product)s."), params)
    return Rendered(
        subject=translate(locale, template.subject, params),
        text="\n\n".join([*lines, f"-- \n{footer}"]) + "\n",
        html=(
            f'<!doctype html><html lang="{locale}"><body style="font-family:sans-serif">'
            + "".join(html_lines)
            + f'<p style="color:#777;font-size:12px">{html.escape(footer)}</p></body></html>'
        ),
        sms=translate(locale, template.sms, params),
    )
