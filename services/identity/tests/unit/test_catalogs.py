from pathlib import Path

import tessera_identity
from tessera_identity.app import CATALOGS
from tessera_shared.testing.catalogs import assert_catalogs_complete


def test_every_text_identity_shows_is_translated_into_german_french_and_italian():
    assert_catalogs_complete(Path(tessera_identity.__file__).parent, [CATALOGS])
