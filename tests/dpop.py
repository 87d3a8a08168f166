"""A DPoP client's key and the proofs it signs (RFC 9449 §4.2), for tests that speak DPoP over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

TOKEN_URL = "http://testserver/oauth/token"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class DPoPKey:
    """A key pair; ``proof()`` signs a proof for one request, any header or claim overridable."""

    def __init__(self, alg: str = "ES256") -> None:
        self.alg = alg
        if alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.jwk = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        elif alg in ("RS256", "PS256"):
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.jwk = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            self.jwk = json.loads(OKPAlgorithm.to_jwk(self.private.public_key()))

    @property
    def jkt(self) -> str:
        """RFC 7638 thumbprint, computed here independently of the server's code."""
        required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
        members = {k: self.jwk[k] for k in required[self.jwk["kty"]]}
        canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
        return b64url(hashlib.sha256(canonical.encode()).digest())

    def proof(
        self,
        url: str = TOKEN_URL,
        method: str = "POST",
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        headers: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        now: float | None = None,
        **claims: Any,
    ) -> str:
        body: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int(now if now is not None else time.time()),
        }
        if access_token is not None:
            body["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        if nonce is not None:
            body["nonce"] = nonce
        body.update(claims)
        for name in drop:
            body.pop(name, None)
        header = {"typ": "dpop+jwt", "jwk": self.jwk, **(headers or {})}
        header = {k: v for k, v in header.items() if v is not None}
        return jwt.encode(body, self.private, algorithm=self.alg, headers=header)
