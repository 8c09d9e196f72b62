"""joserfc's warning about the "EdDSA" name is silenced once for the process, by importing the
protocol layer; its other security warnings still come through. Run in a fresh interpreter with
every warning an error (``-W error``), as pytest's own filters would hide both."""

import subprocess
import sys

SIGN_EDDSA = """
from joserfc import jwt
from joserfc.jwk import OKPKey
key = OKPKey.generate_key("Ed25519")
jwt.encode({"alg": "EdDSA"}, {"sub": "x"}, key, algorithms=["EdDSA"])
"""

SHORT_OCT_KEY = """
from joserfc.jwk import OctKey
OctKey.import_key(b"short")
"""


def run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True)


def test_without_the_protocol_layer_the_eddsa_name_warns():
    result = run(SIGN_EDDSA)
    assert result.returncode != 0
    assert "EdDSA is deprecated" in result.stderr


def test_the_protocol_layer_silences_the_eddsa_name_only():
    assert run("import idp.oauth\n" + SIGN_EDDSA).returncode == 0
    other = run("import idp.oauth\n" + SHORT_OCT_KEY)
    assert other.returncode != 0
    assert "SecurityWarning" in other.stderr
