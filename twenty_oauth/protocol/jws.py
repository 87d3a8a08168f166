"""
Signing the JWTs this server issues: access tokens (RFC 9068) and ID tokens (OpenID Connect Core
§2), as JWS Compact Serialization (RFC 7515 §7.1) with ES256 or RS256 (RFC 7518 §3.3, §3.4).

PyJWT verifies every JWT here, and signed them until it showed on the token endpoint's profile:
``jwt.encode`` cost 68 µs a token where the signature itself costs 27 µs (``make bench``'s
machine, ES256), for work that is fixed once the key is chosen: a header built, sorted and
encoded anew, the algorithm looked up, the signature converted. Here the header segment is
encoded once per key and type, and the rest is what RFC 7515 §5.1 asks: the payload as JSON,
base64url without padding, and the signature of ``header "." payload`` by cryptography.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from twenty_oauth.protocol.keys import Key

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
#: RFC 7518 §3.4: an ES256 signature is R and S as 32 big-endian octets each, not DER.
_ES256_OCTETS = 32


def b64url(data: bytes) -> bytes:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@cache
def _header(kid: str, algorithm: str, typ: str) -> bytes:
    """The encoded JOSE header (RFC 7515 §4.1): ``alg``, ``kid`` and ``typ``."""
    header = {"alg": algorithm, "kid": kid, "typ": typ}
    return b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def sign(claims: dict[str, Any], key: Key, *, typ: str) -> str:
    """The compact JWS of ``claims`` signed by ``key``, with ``typ`` in its header."""
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = _header(key.kid, key.algorithm, typ) + b"." + payload
    if key.algorithm == "ES256":
        r, s = decode_dss_signature(key.private_key.sign(signing_input, _ECDSA_SHA256))
        signature = r.to_bytes(_ES256_OCTETS, "big") + s.to_bytes(_ES256_OCTETS, "big")
    elif key.algorithm == "RS256":
        signature = key.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise ValueError(f"Unsupported signing algorithm {key.algorithm!r}.")
    return (signing_input + b"." + b64url(signature)).decode("ascii")
