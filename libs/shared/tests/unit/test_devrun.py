"""What `make run` gives the parts: environment > .env > the runner's defaults; the banner."""

from pathlib import Path

import pytest

from tessera_shared.devrun import (
    Banner,
    banner_text,
    dev_defaults,
    effective,
    flag,
    read_dotenv,
    user_settings,
    web_defaults,
)


def test_the_environment_wins_over_dotenv_which_wins_over_the_defaults(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# a comment\n"
        "TESSERA_OTP_EMAIL_PROVIDERS=console\n"
        "TESSERA_GATEWAY_RATE_LIMIT_AUTH_PER_MINUTE=7\n"
        "TESSERA_OTP_SMTP_FROM='Tessera <dev@example.com>'\n"
        "POSTGRES_PASSWORD=compose-only\n"
    )
    environ = {"TESSERA_GATEWAY_RATE_LIMIT_AUTH_PER_MINUTE": "9", "HOME": "/home/dev"}
    defaults = dev_defaults(inbox=True, smtp_port=1025, inbox_port=8025)

    env = effective(defaults, user_settings(environ, read_dotenv(dotenv)))

    assert env["TESSERA_GATEWAY_RATE_LIMIT_AUTH_PER_MINUTE"] == "9"  # environment
    assert env["TESSERA_OTP_EMAIL_PROVIDERS"] == "console"  # .env over the inbox default
    assert env["TESSERA_OTP_SMTP_FROM"] == "Tessera <dev@example.com>"
    assert env["TESSERA_OTP_SMS_PROVIDERS"] == "webhook"  # default, nobody set it
    assert env["TESSERA_GATEWAY_RATE_LIMIT_REGISTRATION_PER_MINUTE"] == "60"
    assert "POSTGRES_PASSWORD" not in env
    assert "HOME" not in env


def test_an_empty_line_of_dotenv_is_unset_and_an_empty_variable_is_a_choice(
    tmp_path: Path,
) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("TESSERA_SESSION_COOKIE_SECURE=\nTESSERA_IDENTITY_OTP_HMAC_KEY=\n")
    environ = {"TESSERA_OTP_SMS_PROVIDERS": ""}
    env = effective(
        dev_defaults(inbox=False, smtp_port=1, inbox_port=2),
        user_settings(environ, read_dotenv(dotenv)),
    )
    assert env["TESSERA_SESSION_COOKIE_SECURE"] == "false"  # the runner's, as in compose
    assert "TESSERA_IDENTITY_OTP_HMAC_KEY" not in env  # the part's development key stays
    assert env["TESSERA_OTP_SMS_PROVIDERS"] == ""


def test_a_suite_wide_setting_reaches_every_part_unless_the_part_has_its_own() -> None:
    user = {"TESSERA_LOG_LEVEL": "debug", "TESSERA_GATEWAY_LOG_LEVEL": "warning"}
    env = effective({}, user)
    assert env["TESSERA_IDENTITY_LOG_LEVEL"] == env["TESSERA_OTP_LOG_LEVEL"] == "debug"
    assert env["TESSERA_SESSION_LOG_LEVEL"] == "debug"
    assert env["TESSERA_GATEWAY_LOG_LEVEL"] == "warning"


def test_a_missing_dotenv_is_no_settings(tmp_path: Path) -> None:
    assert read_dotenv(tmp_path / ".env") == {}


def test_the_inbox_defaults_wire_email_and_sms_to_it_and_without_it_the_console() -> None:
    wired = dev_defaults(inbox=True, smtp_port=2525, inbox_port=8125)
    assert wired["TESSERA_OTP_EMAIL_PROVIDERS"] == "smtp"
    assert (wired["TESSERA_OTP_SMTP_HOST"], wired["TESSERA_OTP_SMTP_PORT"]) == ("127.0.0.1", "2525")
    assert wired["TESSERA_OTP_SMTP_SECURITY"] == "none"
    assert wired["TESSERA_OTP_SMS_PROVIDERS"] == "webhook"
    assert wired["TESSERA_OTP_SMS_WEBHOOK_URL"] == "http://127.0.0.1:8125/sms"
    alone = dev_defaults(inbox=False, smtp_port=2525, inbox_port=8125)
    assert alone["TESSERA_OTP_EMAIL_PROVIDERS"] == alone["TESSERA_OTP_SMS_PROVIDERS"] == "console"
    assert "TESSERA_OTP_SMTP_HOST" not in alone


def test_flags_read_as_the_parts_read_booleans() -> None:
    assert flag("false", default=True) is False
    assert flag("0", default=True) is False
    assert flag("true", default=False) is True
    assert flag(None, default=True) is True
    with pytest.raises(ValueError, match="'maybe'"):
        flag("maybe", default=True)


def banner(env: dict[str, str], inbox: str | None = "http://127.0.0.1:8025/") -> str:
    return banner_text(
        Banner(
            ports={"gateway": 8080, "identity": 8001, "session": 8002, "otp-delivery": 8003},
            inbox_url=inbox,
            web_url="http://localhost:3000/",
            postgres_url="postgresql://127.0.0.1:15432/tessera",
            redis_url="redis://127.0.0.1:16379/0",
            nats_url="nats://127.0.0.1:14222",
            data=Path("/data/here"),
            api_key="tsk_dev",
            admin_key="tsa_dev",
            env=env,
        )
    )


def test_the_banner_names_every_url_the_key_the_providers_the_limits_and_the_data() -> None:
    env = effective(
        dev_defaults(inbox=True, smtp_port=1025, inbox_port=8025),
        {"TESSERA_GATEWAY_CORS_ORIGINS": "http://localhost:3000"},
    )
    text = banner(env)
    assert "Tessera is running" in text
    for expected in (
        "http://127.0.0.1:8080/docs",
        "http://127.0.0.1:8080/openapi.json",
        "inbox (codes)      http://127.0.0.1:8025/",
        "web app            http://localhost:3000/",
        "tsk_dev",
        "Admin key          tsa_dev  (TESSERA_ADMIN_KEY for tessera-admin; Bearer on /admin/v1)",
        "CORS origins       http://localhost:3000",
        "email delivery     smtp (127.0.0.1:1025)",
        "SMS delivery       webhook (http://127.0.0.1:8025/sms)",
        "sign-in 60/min per IP, 60/min per account, 60/min per device; registration 60/min",
        "codes 300/h per IP",
        "/data/here  (make reset wipes it)",
        "environment > .env > these defaults",
    ):
        assert expected in text, expected


def test_the_banner_says_what_the_user_chose_instead() -> None:
    env = effective(
        dev_defaults(inbox=False, smtp_port=1025, inbox_port=8025),
        {"TESSERA_GATEWAY_RATE_LIMIT_AUTH_PER_MINUTE": "5", "TESSERA_OTP_SMS_PROVIDERS": "twilio"},
    )
    text = banner(env, inbox=None)
    assert "inbox (codes)      off (TESSERA_DEV_INBOX=false)" in text
    assert "email delivery     console" in text
    assert "SMS delivery       twilio" in text
    assert "sign-in 5/min per IP" in text
    assert "CORS origins       none (set TESSERA_GATEWAY_CORS_ORIGINS)" in text


def test_the_web_app_calls_the_gateway_at_localhost_which_allows_both_of_its_origins() -> None:
    defaults = web_defaults(web_port=3000, gateway_port=8080, root=Path("/x/examples/web"))
    env = effective(defaults, {"TESSERA_GATEWAY_CORS_ORIGINS": "https://app.example.com"})
    assert env["TESSERA_GATEWAY_CORS_ORIGINS"] == "https://app.example.com"  # the user's wins
    assert defaults["TESSERA_GATEWAY_CORS_ORIGINS"] == (
        "http://localhost:3000,http://127.0.0.1:3000"
    )
    # Same site as the page (ports do not count), so the SameSite=Strict cookie rides along.
    assert defaults["TESSERA_DEV_WEB_GATEWAY_URL"] == "http://localhost:8080"
