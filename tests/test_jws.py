"""Signing the server's JWTs (RFC 7515 §7.1): what PyJWT and a bare verifier both accept."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from twenty_oauth.protocol import jws
from twenty_oauth.protocol.keys import generate_private_key, load_pem, private_key_to_pem

CLAIMS = {
    "iss": "https://issuer.example",
    "sub": "42",
    "aud": ["a", "b"],
    "scope": "api ünïcode",
    "exp": 2**40,
}


def _key(algorithm: str):
    return load_pem(private_key_to_pem(generate_private_key(algorithm)))


def _segments(token: str) -> list[bytes]:
    return [base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in token.split(".")]


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_pyjwt_verifies_what_is_signed(algorithm):
    key = _key(algorithm)
    token = jws.sign(CLAIMS, key, typ="at+jwt")
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "kid": key.kid, "typ": "at+jwt"}
    assert jwt.decode(token, key.public_key, algorithms=[algorithm], audience="a") == CLAIMS
    assert "=" not in token and token.count(".") == 2


def test_es256_signature_is_r_and_s_not_der():
    # RFC 7518 §3.4: 64 octets, R then S, each checked here by cryptography itself.
    key = _key("ES256")
    token = jws.sign(CLAIMS, key, typ="JWT")
    header, payload, signature = token.split(".")
    raw = _segments(token)[2]
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.public_key.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))


def test_rs256_signature_is_pkcs1_v1_5():
    key = _key("RS256")
    token = jws.sign(CLAIMS, key, typ="JWT")
    header, payload, _ = token.split(".")
    key.public_key.verify(
        _segments(token)[2], f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_header_is_compact_sorted_json_per_type():
    key = _key("ES256")
    header = _segments(jws.sign(CLAIMS, key, typ="at+jwt"))[0]
    assert (
        header
        == json.dumps({"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, separators=(",", ":")).encode()
    )
    assert json.loads(_segments(jws.sign(CLAIMS, key, typ="JWT"))[0])["typ"] == "JWT"


def test_a_tampered_token_is_refused():
    key = _key("ES256")
    header, payload, signature = jws.sign(CLAIMS, key, typ="JWT").split(".")
    forged = jws.b64url(json.dumps({**CLAIMS, "sub": "1"}).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{header}.{forged}.{signature}", key.public_key, algorithms=["ES256"], audience="a")


def test_unknown_algorithm_is_refused():
    key = _key("ES256")
    with pytest.raises(ValueError, match="Unsupported"):
        jws.sign(
            CLAIMS,
            type(key)(kid="k", algorithm="HS256", private_key=key.private_key, public_jwk={}),
            typ="JWT",
        )
