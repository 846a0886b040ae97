"""The two HTTP calls of this package, with the standard library (blocking; rare).

A failure of any kind (refused connection, timeout, a status other than 200, a redirect, a body
over 1 MiB or not JSON) is `FetchError`; callers turn it into `VerificationError("unavailable")`.
`timeout_s` bounds connecting and each read. Proxy settings of the environment are not used.
"""

import json
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

MAX_BODY_BYTES = 1 << 20
"""A key set or an introspection answer larger than 1 MiB is refused, not read to the end."""
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)


class FetchError(Exception):
    """The endpoint could not be asked, or answered something unusable."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed (a 3xx is a failure): the introspection call's credentials
    would go along to wherever they point, and configured URLs are meant to be the real ones."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# No proxy from the environment (HTTP_PROXY...): these endpoints are the suite's own, reached
# directly, as the suite's aiohttp clients do (trust_env off).
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def check_url(url: str, what: str) -> str:
    """`url` if it is http(s) with a host; raises ValueError (a configuration mistake) else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{what} must be an http or https URL")
    return url


def _call(request: urllib.request.Request, timeout_s: float) -> tuple[Any, str | None]:
    """The JSON body and `Cache-Control` of a 200 answer; raises `FetchError`."""
    try:
        with _opener.open(request, timeout=timeout_s) as answer:
            status = answer.status
            cache_control = answer.headers.get("cache-control")
            body = answer.read(MAX_BODY_BYTES + 1)
    except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors; timeouts too
        raise FetchError(type(exc).__name__) from None
    if status != 200:
        raise FetchError(f"status {status}")
    if len(body) > MAX_BODY_BYTES:
        raise FetchError("answer too large")
    try:
        return json.loads(body), cache_control
    except (ValueError, RecursionError):
        raise FetchError("answer is not JSON") from None


def get_json(url: str, timeout_s: float) -> tuple[Any, str | None]:
    """GET `url` as JSON: the document and the answer's `Cache-Control`."""
    # URLs are http(s): `check_url` at construction.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    return _call(request, timeout_s)


def post_form(url: str, form: bytes, headers: dict[str, str], timeout_s: float) -> Any:
    """POST an `application/x-www-form-urlencoded` body; the JSON answer. No redirects."""
    request = urllib.request.Request(  # noqa: S310
        url,
        data=form,
        method="POST",
        headers={
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            **headers,
        },
    )
    return _call(request, timeout_s)[0]


def max_age(cache_control: str | None, *, default_s: float, min_s: float, max_s: float) -> float:
    """How long a key set may be kept: its `max-age`, else `default_s`, within min_s..max_s.

    `no-store` or `no-cache` count as 0, so the key set is kept `min_s`: refetching on every
    token would let a flood of tokens hammer the endpoint.
    """
    seconds = default_s
    if cache_control:
        if _NO_CACHE.search(cache_control):
            seconds = 0
        elif found := _MAX_AGE.search(cache_control):
            seconds = float(found.group(1))
    return min(max(seconds, min_s), max_s)
