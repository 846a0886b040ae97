"""Keeps the README's configuration reference in step with the settings structs."""

from pathlib import Path

import msgspec

from tessera_shared.settings import ServiceSettings

README = Path(__file__).resolve().parents[5] / "README.md"


def undocumented_settings(struct: type[msgspec.Struct], prefix: str) -> list[str]:
    """Variables of `struct` (beyond the common ones) that the README does not mention."""
    text = README.read_text(encoding="utf-8")
    common = {f.name for f in msgspec.structs.fields(ServiceSettings)}
    names = [f.name for f in msgspec.structs.fields(struct) if f.name not in common]
    return [f"{prefix}{n.upper()}" for n in names if f"`{prefix}{n.upper()}`" not in text]
