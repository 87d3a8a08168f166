"""
Signing keys: which one signs, which ones verify, and the JWK Set that publishes them (RFC 7517).

Keys come from ``TWENTY_OAUTH["SIGNING_KEYS"]`` (PEM, pinned in settings; the first signs) or,
when that is unset, from the ``SigningKey`` table, shared by every worker process. A process
reads the table at most every ``KEY_CACHE_SECONDS``, and again when a token names a ``kid``
it does not know (at most once a second), so a rotation reaches all workers without a restart.
With no key at all, one is created: development needs no set-up.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.signals import setting_changed
from django.utils import timezone
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from twenty_oauth.conf import oauth_settings

ALGORITHMS = ("ES256", "RS256")


@dataclass(frozen=True)
class Key:
    kid: str
    algorithm: str
    private_key: Any
    public_jwk: dict[str, str]

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()


def generate_private_key(algorithm: str) -> Any:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"Unsupported signing algorithm {algorithm!r}; use one of {ALGORITHMS}.")


def private_key_to_pem(private_key: Any) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def algorithm_of(private_key: Any) -> str:
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("Only P-256 elliptic-curve keys are supported (ES256).")
        return "ES256"
    if isinstance(private_key, rsa.RSAPrivateKey):
        if private_key.key_size < 2048:
            raise ValueError("RSA signing keys must have at least 2048 bits.")
        return "RS256"
    raise ValueError("Signing keys must be P-256 EC or RSA private keys.")


def public_jwk(private_key: Any, algorithm: str) -> dict[str, str]:
    """The public JWK of a key, without ``kid``, ``alg`` or ``use``."""
    codec = ECAlgorithm if algorithm == "ES256" else RSAAlgorithm
    jwk = codec.to_jwk(private_key.public_key(), as_dict=True)
    return {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "n", "e")}


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256), used as the ``kid``."""
    members = ("crv", "kty", "x", "y") if jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def load_pem(pem: str, *, kid: str | None = None) -> Key:
    private_key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    algorithm = algorithm_of(private_key)
    jwk = public_jwk(private_key, algorithm)
    return Key(kid=kid or thumbprint(jwk), algorithm=algorithm, private_key=private_key, public_jwk=jwk)


#: Least time between two reloads that an unknown ``kid`` forces. The ``kid`` is read before any
#: signature is checked, so anyone can send a new one with every request.
FORCED_RELOAD_SECONDS = 1.0


class KeyRing:
    """The keys of this process: one signs, all verify. Thread-safe, refreshed on a timer."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._loaded_at = 0.0
        self._forced_at = float("-inf")
        self._signing: Key | None = None
        self._by_kid: dict[str, Key] = {}
        self._jwks: bytes = b""

    def clear(self) -> None:
        with self._lock:
            self._loaded_at = 0.0
            self._forced_at = float("-inf")

    def _stale(self) -> bool:
        return time.monotonic() - self._loaded_at > oauth_settings.KEY_CACHE_SECONDS

    def _load(self) -> None:
        pinned = oauth_settings.SIGNING_KEYS
        if pinned:
            keys = [load_pem(pem) for pem in pinned]
            signing = keys[0]
        else:
            keys, signing = _database_keys(self._by_kid)
        self._by_kid = {key.kid: key for key in keys}
        self._signing = signing
        self._jwks = {
            "keys": [{**k.public_jwk, "kid": k.kid, "alg": k.algorithm, "use": "sig"} for k in keys]
        }
        self._loaded_at = time.monotonic()

    def _ensure(self, force: bool = False) -> None:
        if force or self._stale() or self._signing is None:
            with self._lock:
                if force or self._stale() or self._signing is None:
                    self._load()

    def signing_key(self) -> Key:
        self._ensure()
        return self._signing

    def verification_key(self, kid: str) -> Key | None:
        self._ensure()
        key = self._by_kid.get(kid)
        if key is None and not oauth_settings.SIGNING_KEYS and self._may_force():
            # A key this process has not seen yet: another worker may have rotated.
            self._ensure(force=True)
            key = self._by_kid.get(kid)
        return key

    def _may_force(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._forced_at < FORCED_RELOAD_SECONDS:
                return False
            self._forced_at = now
            return True

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set (RFC 7517 §5), shared: not to be modified."""
        self._ensure()
        return self._jwks


def _database_keys(parsed: dict[str, Key]) -> tuple[list[Key], Key]:
    """The unretired keys and the one that signs; keys in ``parsed`` are not parsed again."""
    from twenty_oauth.models import SigningKey

    rows = list(SigningKey.objects.filter(retired_at__isnull=True))
    if not any(row.activated_at for row in rows):
        rows.insert(0, create_key(oauth_settings.SIGNING_ALGORITHM, activate=True))
    keys = [
        parsed[row.kid]
        if row.kid in parsed and parsed[row.kid].algorithm == row.algorithm
        # A kid is the key's thumbprint (RFC 7638): the same kid, the same key.
        else load_pem(row.private_key, kid=row.kid)
        for row in rows
    ]
    active = [(row.activated_at, key) for row, key in zip(rows, keys, strict=True) if row.activated_at]
    signing = max(active, key=lambda pair: pair[0])[1]
    return keys, signing


def create_key(algorithm: str, *, activate: bool):
    """Create a database key. ``activate=False`` publishes it before it signs (pre-rotation)."""
    from twenty_oauth.models import SigningKey

    private_key = generate_private_key(algorithm)
    jwk = public_jwk(private_key, algorithm)
    row = SigningKey.objects.create(
        kid=thumbprint(jwk),
        algorithm=algorithm,
        private_key=private_key_to_pem(private_key),
        activated_at=timezone.now() if activate else None,
    )
    keyring.clear()
    return row


keyring = KeyRing()


def clear_cache() -> None:
    keyring.clear()


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "TWENTY_OAUTH":
        clear_cache()


setting_changed.connect(_settings_changed)
