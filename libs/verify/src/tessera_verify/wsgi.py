"""A decorator for WSGI apps and Flask views, blocking (`Verifier`); no framework is imported.

WSGI application (any framework's, or Flask's `app.wsgi_app` to guard every route):

    app.wsgi_app = require_token(verifier)(app.wsgi_app)

Flask view (the decorator reads the request through `environ`, a function you give it):

    signed_in = require_token(verifier, environ=lambda: flask.request.environ)

    @app.get("/me")
    @signed_in
    def me(): return {"sub": claims_of(flask.request.environ).sub}

A request with a valid token goes on, its `Claims` in the WSGI environ (`claims_of(environ)`);
any other is answered as `RefusalError` says: 401 `{"code": "token_invalid"}` with
`WWW-Authenticate: Bearer error="invalid_token"`, 401 `{"code": "unauthorized"}` with
`WWW-Authenticate: Bearer` when no token was sent, 503 `{"code": "service_unavailable"}` when
the JWKS or introspection endpoint cannot be reached.
"""

import functools
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, TypeVar, cast

from tessera_verify.bearer import RefusalError, bearer_token
from tessera_verify.errors import VerificationError
from tessera_verify.verifier import Claims, Verifier

CLAIMS_KEY = "tessera_verify.claims"
"""Where the verified `Claims` are put in the WSGI environ."""

F = TypeVar("F", bound=Callable[..., Any])
Environ = MutableMapping[str, Any]


class Headers:
    """Request headers read from a WSGI environ, by name in any case (`headers.get("x-y")`)."""

    __slots__ = ("_environ",)

    def __init__(self, environ: Environ) -> None:
        self._environ = environ

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        value = self._environ.get(key)
        return default if value is None else str(value)


def claims_of(environ: Environ) -> Claims:
    """The claims `require_token` put in this request's environ; KeyError if it did not."""
    return cast(Claims, environ[CLAIMS_KEY])


def _verify(verifier: Verifier, environ: Environ) -> None:
    token = bearer_token(Headers(environ).get("authorization"))
    if token is None:
        raise RefusalError(None)
    try:
        environ[CLAIMS_KEY] = verifier.verify(token)
    except VerificationError as refused:
        raise RefusalError(refused) from None


def _headers(refusal: RefusalError, body: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        *refusal.headers.items(),
    ]


def require_token(
    verifier: Verifier, *, environ: Callable[[], Environ] | None = None
) -> Callable[[F], F]:
    """A decorator: of a WSGI app without `environ`, of a view (Flask) with it (see module)."""

    def decorate(view: F) -> F:
        if environ is None:

            @functools.wraps(view)
            def app(env: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
                try:
                    _verify(verifier, env)
                except RefusalError as refusal:
                    body = refusal.json()
                    start_response(refusal.reason_phrase(), _headers(refusal, body))
                    return [body]
                return cast(Iterable[bytes], view(env, start_response))

            return cast(F, app)

        request_environ = environ

        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                _verify(verifier, request_environ())
            except RefusalError as refusal:
                body = refusal.json()
                return body, refusal.status, dict(_headers(refusal, body))
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate
