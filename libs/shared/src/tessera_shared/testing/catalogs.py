"""Checks that every text marked with `N_()` or `_()` in a package has de/fr/it translations."""

import re
from collections.abc import Iterable
from pathlib import Path

from babel.messages.extract import extract_from_dir

from tessera_shared.i18n import SUPPORTED_LOCALES, Translator

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def marked_texts(package_dir: Path) -> set[str]:
    """Every literal passed to N_() or _() in the package's Python files."""
    found = extract_from_dir(
        str(package_dir),
        method_map=[("**.py", "python")],
        keywords={"N_": None, "_": None},
    )
    return {str(message) for _, _, message, _, _ in found if isinstance(message, str)}


def assert_catalogs_complete(package_dir: Path, catalog_dirs: Iterable[Path]) -> None:
    translator = Translator(catalog_dirs)
    texts = marked_texts(package_dir)
    assert texts, f"no marked texts found under {package_dir}"
    missing = [
        f"{locale}: {text!r}"
        for locale in SUPPORTED_LOCALES
        if locale != "en"
        for text in sorted(texts)
        if text not in translator.known(locale)
        or placeholders(translator.known(locale)[text]) != placeholders(text)
    ]
    assert not missing, "untranslated or mismatched texts:\n" + "\n".join(missing)
