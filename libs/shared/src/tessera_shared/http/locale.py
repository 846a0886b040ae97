"""The language of a request, negotiated once from Accept-Language."""

from litestar import Request
from litestar.datastructures import State

from tessera_shared.i18n import Translator, negotiate


def request_locale(request: Request[object, object, State]) -> str:
    """Negotiated language of this request (cached on the request)."""
    cached = request.scope.get("tessera_locale")
    if isinstance(cached, str):
        return cached
    locale = negotiate(request.headers.get("accept-language"))
    request.scope["tessera_locale"] = locale  # type: ignore[typeddict-unknown-key]
    return locale


def translator_of(request: Request[object, object, State]) -> Translator:
    translator = request.app.state.get("translator")
    return translator if isinstance(translator, Translator) else Translator()
