from pathlib import Path

import tessera_shared
from tessera_shared.i18n import SHARED_CATALOGS
from tessera_shared.testing.catalogs import assert_catalogs_complete


def test_every_marked_text_of_the_shared_library_is_translated():
    assert_catalogs_complete(Path(tessera_shared.__file__).parent, [SHARED_CATALOGS])
