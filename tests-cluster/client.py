"""A client of the scaled-out suite: request i goes to gateway i % 2, from its own client IP."""

import itertools
import json
import re
import secrets
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any

PASSWORD = "securePassword123!"
COOKIE = "tessera_rt_web-app"
CODE = re.compile(r"\b(\d{6})\b")

Answer = tuple[int, dict[str, str], Any]


def call(url: str, method: str = "GET", body: bytes | None = None, **headers: str) -> Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            parsed = json.loads(raw or b"null")
        except ValueError:
            parsed = raw.decode(errors="replace")
        return error.code, dict(error.headers), parsed


def random_ip() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


class Client:
    """Alternates between the gateways (or sticks to one with `via`); one client IP."""

    def __init__(self, cluster: Any, ip: str | None = None, device: str | None = None) -> None:
        self.cluster = cluster
        self.ip = ip or random_ip()
        self.device = {
            "X-Device-ID": device or f"dev-{secrets.token_hex(4)}",
            "X-App-ID": "web-app",
        }
        self._turn = itertools.count()
        self.sent_to: list[int] = []

    def gateway(self, via: int | None = None) -> str:
        index = next(self._turn) % 2 if via is None else via
        self.sent_to.append(index)
        return str(self.cluster.gateways[index])

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        via: int | None = None,
        **headers: str,
    ) -> Answer:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        sent = {"X-Forwarded-For": self.ip, "Content-Type": "application/json", **headers}
        return call(f"{self.gateway(via)}{path}", method, data, **sent)

    # --- flows ---

    def register(self, value: str, kind: str = "email", via: int | None = None) -> str:
        status, _, body = self.request(
            "POST",
            "/v1/users/initiate-registration",
            {
                "credential_type": kind,
                "credential_value": value,
                "password": PASSWORD,
                "terms_accepted": True,
                "privacy_policy_accepted": True,
            },
            via,
            **{"X-API-Key": self.cluster.api_key},
        )
        assert status == 200, (status, body)
        return str(body["user_id"])

    def verify_registration(self, user_id: str, code: str, kind: str = "email") -> Answer:
        return self.request(
            "POST",
            "/v1/users/verify-registration",
            {"user_id": user_id, "credential_type": kind, "otp": code},
            **{"X-API-Key": self.cluster.api_key},
        )

    def active_account(self, address: str) -> str:
        user_id = self.register(address)
        status, _, body = self.verify_registration(user_id, email_code(self.cluster, address))
        assert status == 200, body
        return user_id

    def authenticate(self, username: str, password: str = PASSWORD, via: int | None = None):
        return self.request(
            "POST",
            "/v1/authenticate",
            {"username": username, "password": password},
            via,
            **self.device,
        )

    def refresh(self, cookie: str, via: int | None = None) -> Answer:
        return self.request(
            "POST", "/v1/refresh-token", b"", via, Cookie=f"{COOKIE}={cookie}", **self.device
        )

    def bearer(
        self, method: str, path: str, token: str, body: Any = None, via: int | None = None
    ) -> Answer:
        return self.request(method, path, body, via, Authorization=f"Bearer {token}", **self.device)


def cookie_from(headers: dict[str, str]) -> str:
    first = headers["set-cookie"].split(";", 1)[0]
    name, _, value = first.partition("=")
    assert name == COOKIE
    return value


def emails_to(cluster: Any, address: str) -> list[EmailMessage]:
    return [m for m in cluster.mail.messages if str(m.get("To", "")) == address]


def email_code(cluster: Any, address: str, nth: int = 1, within: float = 30.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = emails_to(cluster, address)
        if len(found) >= nth:
            text = found[nth - 1].get_body(preferencelist=("plain",)).get_content()
            match = CODE.search(text)
            assert match, text
            return match.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no email #{nth} to {address}")


def sms_codes(cluster: Any, number: str) -> list[str]:
    texts = [json.loads(r.body) for r in cluster.sms.received]
    return [m.group(1) for t in texts if t["to"] == number and (m := CODE.search(t["text"]))]


def sms_code(cluster: Any, number: str, nth: int = 1, within: float = 30.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        codes = sms_codes(cluster, number)
        if len(codes) >= nth:
            return codes[nth - 1]
        time.sleep(0.1)
    raise AssertionError(f"no SMS #{nth} to {number}")
