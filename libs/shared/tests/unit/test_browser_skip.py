"""Without a Chromium the browser tests are skipped, and nothing else is disturbed.

CI installs Chromium, so this is the one place the skip path runs: a conftest that skipped at
import once made `make test` fail to collect on any machine without the browser.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def test_without_chromium_on_path_the_browser_tests_skip_with_the_reason() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests-browser"),
            str(ROOT / "tests-e2e" / "test_docs_offline.py"),
        ],
        env={**os.environ, "PATH": str(Path(sys.executable).parent)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # 5: every module skipped, so no test was collected (a collection error would be 2).
    assert done.returncode == 5, done.stdout + done.stderr
    modules = len(list((ROOT / "tests-browser").glob("test_*.py"))) + 1
    assert f"{modules} skipped" in done.stdout
    assert "no chromium on PATH (Debian: apt-get install chromium)" in done.stdout
