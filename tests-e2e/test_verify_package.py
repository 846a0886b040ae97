"""tessera-verify against the real suite: the README's examples run as written (only the
gateway's address changed), and `check_session=True` refuses a logged-out session within its
cache time while introspection says `active: false` at once."""

import asyncio
import re
import time
from pathlib import Path

import jwt

from tessera_verify import VerificationError, Verifier

from .test_foundation import call
from .test_introspection import introspect, signed_in

README = Path(__file__).resolve().parent.parent / "README.md"
MAKE_RUN_GATEWAY = "http://127.0.0.1:8080"


def readme_examples() -> list[str]:
    """The Python blocks of the README's tessera-verify section, in order."""
    text = README.read_text()
    section = text[text.index("### tessera-verify") : text.index("### Introspection (RFC 7662)")]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_s_sync_and_async_examples_verify_a_real_token(suite):
    user = signed_in(suite)
    sync, asynchronous = (
        block.replace(MAKE_RUN_GATEWAY, suite.gateway_url) for block in readme_examples()[:2]
    )
    # Three lines each, of one shape: only the class and the `await` differ.
    assert len(sync.strip().splitlines()) == len(asynchronous.strip().splitlines()) == 3
    first_two = sync.replace("Verifier", "AsyncVerifier").splitlines()[:2]
    assert first_two == asynchronous.splitlines()[:2]

    scope: dict[str, object] = {"token": user["token"]}
    exec(sync, scope)  # noqa: S102 - the README's own example
    assert scope["claims"].sub == user["user_id"]  # type: ignore[attr-defined]

    body = "".join(f"    {line}\n" for line in asynchronous.splitlines())
    scope = {"token": user["token"]}
    exec(f"async def example():\n{body}    return claims\n", scope)  # noqa: S102
    claims = asyncio.run(scope["example"]())  # type: ignore[operator]
    assert claims.sub == user["user_id"]
    assert claims.client_id == "orders-web"


def test_check_session_refuses_a_logged_out_session_within_its_cache_time(suite):
    user = signed_in(suite)
    url = f"{suite.gateway_url}/oauth2/introspect"
    verifier = Verifier(
        issuer="tessera",
        audience="tessera",
        jwks_url=f"{suite.gateway_url}/.well-known/jwks.json",
        check_session=True,
        introspection_url=url,
        api_key=suite.api_key,
        session_cache_s=1,
    )
    assert verifier.verify(user["token"]).sub == user["user_id"]

    status, _, _ = call(
        f"{suite.gateway_url}/v1/logout", "POST", None, Authorization=f"Bearer {user['token']}"
    )
    assert status == 200
    logged_out = time.monotonic()
    status, _, body = introspect(url, user["token"], **{"X-API-Key": suite.api_key})
    assert (status, body) == (200, {"active": False})

    reason = None
    while reason is None:
        try:
            verifier.verify(user["token"])
        except VerificationError as refused:
            reason = refused.reason
        else:
            assert time.monotonic() - logged_out < 1.5, "still accepted after the cache time"
            time.sleep(0.05)
    assert reason == "revoked"
    # Without the session check the signature alone still passes: the check is what refuses.
    offline = Verifier(
        issuer="tessera",
        audience="tessera",
        jwks_url=f"{suite.gateway_url}/.well-known/jwks.json",
    )
    unverified = jwt.decode(user["token"], options={"verify_signature": False})
    assert offline.verify(user["token"]).sid == unverified["sid"]
