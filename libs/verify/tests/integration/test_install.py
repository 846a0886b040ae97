"""tessera-verify installs light: into a fresh virtual environment, with pip as it is configured
on the machine (index, local wheels, cache), it brings at most 5 distributions and 25 MB, and
verifies a token there with nothing else installed. Slow (a venv and a wheel build: ~5-30 s)."""

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PACKAGE = Path(__file__).resolve().parents[2]
MAX_DISTRIBUTIONS = 5
MAX_BYTES = 25_000_000

CHECK = textwrap.dedent(
    """
    import base64, importlib.metadata, json, sys, time
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from tessera_verify import Verifier

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    key = Ed25519PrivateKey.generate()
    now = int(time.time())
    claims = {"iss": "t", "aud": "t", "sub": "u", "sid": "s", "iat": now, "exp": now + 60,
              "jti": "j", "amr": ["pwd"], "did": "d", "aid": "a"}
    head = b64(json.dumps({"alg": "EdDSA", "typ": "at+jwt", "kid": "k"}).encode())
    signing_input = head + "." + b64(json.dumps(claims).encode())
    token = signing_input + "." + b64(key.sign(signing_input.encode()))
    verifier = Verifier(issuer="t", audience="t", keys={"k": key.public_key()})
    assert verifier.verify(token).sub == "u"
    heavy = {"msgspec", "litestar", "redis", "aiohttp", "tessera_shared"} & set(sys.modules)
    assert not heavy, heavy
    names = sorted(d.metadata["Name"].lower() for d in importlib.metadata.distributions())
    print(json.dumps(names))
    """
)


def site_packages_bytes(venv: Path) -> int:
    [site] = venv.glob("lib/python*/site-packages")
    return sum(path.stat().st_size for path in site.rglob("*") if path.is_file())


def test_a_fresh_venv_gets_at_most_5_distributions_and_25_mb(tmp_path):
    started = time.monotonic()
    venv = tmp_path / "venv"
    # Without pip: what is in site-packages afterwards is exactly what tessera-verify brought.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", str(PACKAGE)], check=True, timeout=240)
    installed = subprocess.run(
        [str(python), "-c", CHECK], check=True, capture_output=True, text=True, timeout=60
    )
    names = json.loads(installed.stdout)
    size = site_packages_bytes(venv)
    took = time.monotonic() - started
    print(f"\ntessera-verify in a fresh venv: {names}, {size / 1e6:.1f} MB, {took:.1f} s")
    assert "tessera-verify" in names
    assert "cryptography" in names
    assert len(names) <= MAX_DISTRIBUTIONS, names
    assert size <= MAX_BYTES
