"""Language negotiation and gettext catalogs (Babel .po files, read at start-up).

Message ids are the English texts; `de`, `fr` and `it` catalogs translate them. Each part passes
its own catalog folders next to the shared one, so a part owns the texts only it shows.
"""

from collections.abc import Iterable, Mapping
from pathlib import Path

from babel.messages.pofile import read_po

SUPPORTED_LOCALES: tuple[str, ...] = ("en", "de", "fr", "it")
DEFAULT_LOCALE = "en"
DOMAIN = "messages"
SHARED_CATALOGS = Path(__file__).parent / "locales"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a text for extraction without translating it yet (it is translated per request)."""
    return message


def negotiate(
    accept_language: str | None,
    supported: Iterable[str] = SUPPORTED_LOCALES,
    default: str = DEFAULT_LOCALE,
) -> str:
    """Pick the best supported language for an `Accept-Language` header (RFC 9110 q-values).

    Region tags fall back to their language (`de-CH` -> `de`); `*` or nothing usable -> default.
    """
    if not accept_language:
        return default
    available = set(supported)
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = _quality(params)
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag == "*":
            return default
        language = tag.split("-", 1)[0]
        if language in available:
            return language
    return default


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


class Translator:
    """Translates message ids into a language, with `%(name)s` parameters filled in."""

    def __init__(self, catalog_dirs: Iterable[Path] = (SHARED_CATALOGS,)) -> None:
        self._tables: dict[str, dict[str, str]] = {lang: {} for lang in SUPPORTED_LOCALES}
        for folder in catalog_dirs:
            for lang, table in self._tables.items():
                path = folder / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
                if path.is_file():
                    table.update(load_po(path))

    def __call__(
        self, locale: str, message: str, params: Mapping[str, object] | None = None
    ) -> str:
        text = self._tables.get(locale, {}).get(message, message)
        if params:
            try:
                return text % params
            except (KeyError, ValueError, TypeError):
                return message % params
        return text

    def known(self, locale: str) -> Mapping[str, str]:
        """The translations loaded for `locale` (for completeness tests)."""
        return self._tables[locale]


def load_po(path: Path) -> dict[str, str]:
    """Translated, non-fuzzy entries of one .po file."""
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }
