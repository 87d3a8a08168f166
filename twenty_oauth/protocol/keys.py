"""
Signing keys: which one signs, which ones verify, and the JWK Set that publishes them (RFC 7517).

Keys come from ``TWENTY_OAUTH["SIGNING_KEYS"]`` (PEM, pinned in settings; the first signs) or,
when that is unset, from the ``SigningKey`` table, shared by every worker process and encrypted
there (:mod:`twenty_oauth.protocol.key_encryption`). A process reads the table at most every
``KEY_CACHE_SECONDS``, and again when a token names a ``kid`` it does not know (at most once a
second), so a rotation reaches all workers without a restart; a key is decrypted once per
process, when the process first meets it.

Keys are created by ``migrate`` (the first one, when the table has none that signs) and by
``manage.py oauth_keys``, never by a request: a request that finds no key to sign with is
answered ``temporarily_unavailable`` (:class:`~twenty_oauth.errors.TemporarilyUnavailable`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
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
from twenty_oauth.errors import TemporarilyUnavailable
from twenty_oauth.protocol import key_encryption

logger = logging.getLogger("twenty_oauth")

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


#: The members of each key type that RFC 7638 §3.2 hashes: the public key and nothing else.
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def thumbprint(jwk: dict[str, str]) -> str:
    """
    RFC 7638 JWK thumbprint (SHA-256): the ``kid`` of a signing key, and ``cnf.jkt`` of a DPoP
    key (RFC 9449 §6.1). Neither PyJWT nor cryptography computes one: the required members of the
    key type, in lexicographic order, as JSON with no whitespace (§3.3), hashed.
    """
    members = THUMBPRINT_MEMBERS[jwk["kty"]]
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
        self._by_algorithm: dict[str, Key] = {}
        self._by_kid: dict[str, Key] = {}
        self._jwks: bytes = b""

    def clear(self) -> None:
        """Read the keys again at the next use, and decrypt them anew."""
        with self._lock:
            self._loaded_at = 0.0
            self._forced_at = float("-inf")
            self._by_kid = {}

    def _stale(self) -> bool:
        return time.monotonic() - self._loaded_at > oauth_settings.KEY_CACHE_SECONDS

    def _load(self) -> None:
        pinned = oauth_settings.SIGNING_KEYS
        if pinned:
            keys = [load_pem(pem) for pem in pinned]
            signing = keys[0]
            by_algorithm = {}
            for key in keys:
                by_algorithm.setdefault(key.algorithm, key)
        else:
            keys, signing, by_algorithm = _database_keys(self._by_kid)
        if signing is not None:
            by_algorithm[signing.algorithm] = signing
        self._by_kid = {key.kid: key for key in keys}
        self._signing = signing
        self._by_algorithm = by_algorithm
        self._jwks = {
            "keys": [{**k.public_jwk, "kid": k.kid, "alg": k.algorithm, "use": "sig"} for k in keys]
        }
        self._loaded_at = time.monotonic()

    def _ensure(self, force: bool = False) -> bool:
        """Read the keys if they are stale (or ``force``); whether they were read."""
        if force or self._stale():
            with self._lock:
                if force or self._stale():
                    self._load()
                    return True
        return False

    def signing_key(self) -> Key:
        """
        The key that signs. ``TemporarilyUnavailable`` when there is none this process can use:
        the table is read again at most once a second until one appears.
        """
        if not self._ensure() and self._signing is None and self._may_force():
            self._ensure(force=True)
        signing = self._signing
        if signing is None:
            raise TemporarilyUnavailable("The server has no key to sign access tokens with.")
        return signing

    def signing_key_for(self, algorithm: str) -> Key:
        """
        The key that signs with ``algorithm`` (an ID token for a client that registered
        ``id_token_signed_response_alg``, OpenID Connect Core §3.1.3.7): the signing key when it
        uses that algorithm, else the newest activated key of it, else the newest published one
        (every published key is in the JWK Set, so relying parties can verify it).
        ``TemporarilyUnavailable`` when the ring has none: ``oauth_keys create --algorithm``
        makes one; a request never does.
        """
        signing = self.signing_key()
        if signing.algorithm == algorithm:
            return signing
        key = self._by_algorithm.get(algorithm)
        if key is None and not oauth_settings.SIGNING_KEYS and self._may_force():
            # ``oauth_keys create`` may have made one since this process last read the table.
            self._ensure(force=True)
            key = self._by_algorithm.get(algorithm)
        if key is None:
            raise TemporarilyUnavailable(f"The server has no {algorithm} key to sign ID tokens with.")
        return key

    def algorithms(self) -> list[str]:
        """The algorithms the ring can sign with, the signing key's first."""
        self._ensure()
        return list(self._by_algorithm)

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


def _database_keys(parsed: dict[str, Key]) -> tuple[list[Key], Key | None, dict[str, Key]]:
    """
    The unretired keys this process can decrypt, the one that signs: the newest activated key,
    None when there is none or it cannot be decrypted; and by algorithm, the newest activated
    key of each, else its newest published one. Keys in ``parsed`` are not decrypted again; a
    key that cannot be decrypted is left out and logged.
    """
    from twenty_oauth.models import SigningKey

    keys, signing, newest = [], None, None
    ranked: dict[str, tuple[tuple, Key]] = {}
    for row in SigningKey.objects.filter(retired_at__isnull=True):
        key = parsed.get(row.kid)
        # A kid is the key's thumbprint (RFC 7638): the same kid, the same key.
        if key is None or key.algorithm != row.algorithm:
            try:
                key = load_row(row)
            except key_encryption.KeyEncryptionError as exc:
                logger.error(
                    "%s It neither signs nor verifies until the key that encrypted it is configured again.",
                    exc,
                    extra={"kid": row.kid},
                )
                key = None
        if key is not None:
            keys.append(key)
            rank = (row.activated_at is not None, row.activated_at or row.created_at, row.created_at)
            if key.algorithm not in ranked or rank > ranked[key.algorithm][0]:
                ranked[key.algorithm] = (rank, key)
        if row.activated_at and (newest is None or row.activated_at > newest):
            newest, signing = row.activated_at, key
    if newest is not None and signing is None:
        logger.error("The signing key cannot be decrypted: access tokens cannot be issued.")
    return keys, signing, {algorithm: key for algorithm, (_, key) in ranked.items()}


def load_row(row: Any) -> Key:
    """The key of a ``SigningKey`` row, decrypted (``KeyEncryptionError`` when it cannot be)."""
    return load_pem(key_encryption.decrypt(row.private_key, row.kid), kid=row.kid)


def signing_row(model: Any = None, using: str | None = None) -> Any:
    """The row of the key that signs, from the table alone: the newest activated unretired key."""
    if model is None:
        from twenty_oauth.models import SigningKey as model
    rows = model._default_manager.using(using).filter(retired_at__isnull=True, activated_at__isnull=False)
    return rows.order_by("-activated_at", "-pk").first()


def create_key(algorithm: str, *, activate: bool, model: Any = None, using: str | None = None) -> Any:
    """
    Create a database key, its private key encrypted. ``activate=False`` publishes it before it
    signs (pre-rotation). ``model`` and ``using`` let ``migrate`` pass its historical model and
    database.
    """
    if model is None:
        from twenty_oauth.models import SigningKey as model

    private_key = generate_private_key(algorithm)
    jwk = public_jwk(private_key, algorithm)
    kid = thumbprint(jwk)
    row = model._default_manager.using(using).create(
        kid=kid,
        algorithm=algorithm,
        private_key=key_encryption.encrypt(private_key_to_pem(private_key), kid),
        activated_at=timezone.now() if activate else None,
    )
    keyring.clear()
    return row


def ensure_signing_key(model: Any = None, using: str | None = None) -> Any:
    """
    Create a signing key when none signs and none is pinned in settings; return it, or None.
    ``migrate`` calls it, so that the first request finds a key.
    """
    if oauth_settings.SIGNING_KEYS or signing_row(model, using) is not None:
        return None
    return create_key(oauth_settings.SIGNING_ALGORITHM, activate=True, model=model, using=using)


keyring = KeyRing()


def clear_cache() -> None:
    keyring.clear()
    key_encryption.clear_cache()


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "TWENTY_OAUTH":
        clear_cache()


setting_changed.connect(_settings_changed)
