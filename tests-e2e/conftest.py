"""The whole suite as real processes on free ports, behind its gateway, for the e2e tests."""

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tessera_gateway.bootstrap import create_admin_key, create_api_key
from tessera_gateway.config import GatewaySettings
from tessera_shared.devservers import free_port
from tessera_shared.devstack import (
    Dependencies,
    Part,
    PartProcess,
    default_parts,
    suite_environment,
)
from tessera_shared.testing.http_sink import HttpSink
from tessera_shared.testing.otlp import OtlpCollector
from tessera_shared.testing.plugin import create_database
from tessera_shared.testing.smtp import SmtpCatcher


class Suite(msgspec.Struct, frozen=True):
    gateway_url: str
    api_key: str
    admin_key: str
    """Every scope (`api-keys create --admin`)."""
    env: dict[str, str]
    log: Path
    processes: list[PartProcess]
    mail: SmtpCatcher
    sms: HttpSink
    traces: OtlpCollector


@pytest.fixture(scope="session")
def mail() -> Iterator[SmtpCatcher]:
    """The real SMTP server the suite's emails go to."""
    catcher = SmtpCatcher()
    catcher.start()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="session")
def sms() -> Iterator[HttpSink]:
    """The HTTP endpoint standing in for the SMS provider (webhook)."""
    sink = HttpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def traces() -> Iterator[OtlpCollector]:
    """Where every part exports its spans (OTLP/HTTP), as a collector would receive them."""
    collector = OtlpCollector()
    collector.start()
    yield collector
    collector.stop()


@pytest.fixture(scope="session")
def suite(
    postgres_admin_url: str,
    redis_url: str,
    nats_url: str,
    mail: SmtpCatcher,
    sms: HttpSink,
    traces: OtlpCollector,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Suite]:
    run_id = secrets.token_hex(3)
    log = tmp_path_factory.mktemp("suite") / "suite.log"
    parts = default_parts(
        gateway=free_port(), identity=free_port(), session=free_port(), otp=free_port()
    )
    with create_database(postgres_admin_url, prefix="e2e") as database_url:
        env = suite_environment(
            parts,
            Dependencies(postgres_url=database_url, redis_url=redis_url, nats_url=nats_url),
            stream_name=f"E2E_{run_id}",
            subject_prefix=f"e2e{run_id}.",
            redis_key_prefix=f"e2e{run_id}:",
            extra={
                "TESSERA_OTP_EMAIL_PROVIDERS": "smtp",
                "TESSERA_OTP_SMTP_HOST": mail.host,
                "TESSERA_OTP_SMTP_PORT": str(mail.port),
                "TESSERA_OTP_SMTP_SECURITY": "none",
                "TESSERA_OTP_SMS_PROVIDERS": "webhook",
                "TESSERA_OTP_SMS_WEBHOOK_URL": f"{sms.url}/sms",
                "TESSERA_OTP_SENT_BUCKET": f"e2e_sent_{run_id}",
                "TESSERA_SESSION_SIGNING_KEYS_DIR": str(log.parent / "keys"),
                # Every e2e request comes from 127.0.0.1: more than one person's share.
                # test_fuzz.py sends hundreds of requests a minute to each group.
                "TESSERA_GATEWAY_RATE_LIMIT_AUTH_PER_MINUTE": "1000",
                "TESSERA_GATEWAY_RATE_LIMIT_REGISTRATION_PER_MINUTE": "1000",
                "TESSERA_GATEWAY_RATE_LIMIT_DEFAULT_PER_MINUTE": "100000",
                "TESSERA_GATEWAY_RATE_LIMIT_ACCOUNT_PER_MINUTE": "1000",
                "TESSERA_GATEWAY_RATE_LIMIT_DEVICE_PER_MINUTE": "1000",
                # One API key for the whole run: a fast machine registers > 100 a minute.
                "TESSERA_GATEWAY_RATE_LIMIT_API_KEY_PER_MINUTE": "100000",
                # test_fuzz.py introspects with that key too.
                "TESSERA_GATEWAY_RATE_LIMIT_INTROSPECTION_PER_MINUTE": "100000",
                "TESSERA_GATEWAY_RATE_LIMIT_INTROSPECTION_API_KEY_PER_MINUTE": "100000",
                "TESSERA_IDENTITY_CODES_PER_IP_PER_HOUR": "1000",
                **tracing_to(traces, parts),
                # GET /auth/otp/code right after the method sent its first code.
                "TESSERA_IDENTITY_RESEND_COOLDOWN_S": "0",
            },
        )
        subprocess.run(
            [sys.executable, "-m", "tessera_identity", "migrate"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        processes = [PartProcess(part, env, log) for part in parts]
        try:
            for process in processes:
                process.start()
                process.wait_ready(60)
            gateway = next(p for p in processes if p.part.name == "gateway")
            api_key = asyncio.run(create_api_key(_gateway_settings(env), "e2e"))
            admin_key = asyncio.run(create_admin_key(_gateway_settings(env), "e2e-ops"))
            yield Suite(
                gateway_url=gateway.url,
                api_key=api_key,
                admin_key=admin_key,
                env=env,
                log=log,
                processes=processes,
                mail=mail,
                sms=sms,
                traces=traces,
            )
        except BaseException:
            sys.stderr.write(log.read_text() if log.exists() else "(no suite log)\n")
            raise
        finally:
            for process in reversed(processes):
                process.stop()


def tracing_to(collector: OtlpCollector, parts: list[Part]) -> dict[str, str]:
    """Every part exports its spans to `collector`, in batches sent every 200 ms."""
    env = {"OTEL_BSP_SCHEDULE_DELAY": "200"}
    for part in parts:
        env[f"{part.prefix}OTEL_EXPORTER"] = "otlp"
        env[f"{part.prefix}OTEL_ENDPOINT"] = f"{collector.url}/v1/traces"
    return env


def _gateway_settings(env: dict[str, str]) -> GatewaySettings:
    return GatewaySettings(
        redis_url=env["TESSERA_GATEWAY_REDIS_URL"],
        api_key_prefix=env["TESSERA_GATEWAY_API_KEY_PREFIX"],
    )
