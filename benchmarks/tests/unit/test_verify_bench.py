"""`benchmarks/verify_bench.py` runs end to end on a few tokens (the figures are its own)."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks import verify_bench as bench
from tessera_verify import Verifier

pytestmark = pytest.mark.unit


def test_one_small_round_measures_every_verifier(capsys: pytest.CaptureFixture[str]) -> None:
    best = bench.main(["--tokens", "20", "--rounds", "1"])
    assert set(best) == {
        "Ed25519 verify alone (floor)",
        "tessera_shared AccessTokenVerifier",
        "tessera_verify Verifier (sync)",
        "tessera_verify AsyncVerifier",
    }
    assert all(rate > 0 for rate in best.values())
    assert "tokens/s" in capsys.readouterr().out


def test_tokens_are_distinct_and_verify() -> None:
    key = Ed25519PrivateKey.generate()
    tokens = bench.signed_tokens(key, 5)
    assert len(set(tokens)) == 5
    verifier = Verifier(issuer="tessera", audience="tessera", keys={bench.KID: key.public_key()})
    assert all(verifier.verify(token).aud == "tessera" for token in tokens)
