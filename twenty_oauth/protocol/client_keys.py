"""
A client's public keys (RFC 7517) as ``private_key_jwt`` uses them (RFC 7523 §2.2): the JWK Set
a client registers (``jwks``) or names (``jwks_uri``, RFC 7591 §2), the rules each key must
follow, and the verification keys an assertion's algorithm may use.

Only public keys of the algorithms this server accepts (``ES256``, ``RS256``, ``PS256``,
``EdDSA`` or its fully-specified names ``Ed25519`` and ``Ed448``, RFC 9864): P-256
elliptic-curve keys, RSA keys of 2048 to 8192 bits, Ed25519 and Ed448 keys.
A set holding a private member (``d``, ``p``, ``q``...) or a symmetric key is refused whole: a
client that published its private key has no private key left. Fetching a ``jwks_uri`` is
:mod:`twenty_oauth.protocol.client_assertions`'s business; this module reads no network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from unicodedata import category
from urllib.parse import unquote

from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

from twenty_oauth.protocol import uris
from twenty_oauth.protocol.discovery import ASSERTION_SIGNING_ALGORITHMS

MAX_KEYS = 10
MAX_KID = 200
MAX_URL = 500  # Client.jwks_uri, and what the metadata-document fetcher accepts
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
#: Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
#: The algorithms each kind of key can verify; an OKP key also its curve's own (RFC 9864 §2.2).
KEY_ALGORITHMS = {"EC": ("ES256",), "RSA": ("RS256", "PS256"), "OKP": ("EdDSA",)}


class InvalidKeySet(ValueError):
    """A JWK Set this server cannot use; the message says why, for the client's developer."""


@dataclass(frozen=True)
class VerificationKey:
    """One usable public key: its ``kid`` (or None), the algorithms it verifies, the key itself."""

    kid: str | None
    algorithms: tuple[str, ...]
    key: Any


def _printable(value: Any) -> bool:
    """Every string in ``value`` is printable ASCII: JWK members are base64url, URLs or names."""
    if isinstance(value, str):
        return all(" " <= c <= "~" for c in value)
    if isinstance(value, list):
        return all(_printable(item) for item in value)
    if isinstance(value, dict):
        return all(_printable(k) and _printable(v) for k, v in value.items())
    return True


def _parse(jwk: Mapping[str, Any]) -> VerificationKey:
    """One JWK as a verification key, or ``InvalidKeySet``."""
    if not isinstance(jwk, Mapping):
        raise InvalidKeySet("Each key must be a JSON object.")
    if not _printable(dict(jwk)):
        raise InvalidKeySet("A key holds a value that is not printable ASCII.")
    kty = jwk.get("kty")
    if kty == "oct":
        raise InvalidKeySet("Symmetric keys (kty oct) are not accepted; publish public keys only.")
    if kty not in KEY_ALGORITHMS:
        raise InvalidKeySet("Each key's kty must be EC, RSA or OKP.")
    if any(member in jwk for member in PRIVATE_MEMBERS):
        raise InvalidKeySet("A key holds a private member; publish public keys only.")
    kid = jwk.get("kid")
    if kid is not None and not (isinstance(kid, str) and 0 < len(kid) <= MAX_KID):
        raise InvalidKeySet(f"A key's kid must be a string of 1 to {MAX_KID} characters.")
    try:
        key = {"EC": ECAlgorithm, "RSA": RSAAlgorithm, "OKP": OKPAlgorithm}[kty].from_jwk(dict(jwk))
    except (InvalidKeyError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidKeySet(f"A {kty} key cannot be read.") from exc
    if kty == "EC" and not isinstance(key.curve, ec.SECP256R1):
        raise InvalidKeySet("Elliptic-curve keys must be on P-256 (ES256).")
    if kty == "RSA" and not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        raise InvalidKeySet(f"RSA keys must have {MIN_RSA_BITS} to {MAX_RSA_BITS} bits.")
    algorithms = KEY_ALGORITHMS[kty]
    if kty == "OKP":
        algorithms = (*algorithms, jwk["crv"])
    alg = jwk.get("alg")
    if alg is not None:
        if alg not in algorithms:
            raise InvalidKeySet(
                f"A key's alg must be one of {', '.join(ASSERTION_SIGNING_ALGORITHMS)} and fit its kty."
            )
        algorithms = (alg,)
    # RFC 7517 §4.2, §4.3: a key meant for encryption only does not verify assertions.
    use, ops = jwk.get("use"), jwk.get("key_ops")
    if ops is not None and not isinstance(ops, list):
        raise InvalidKeySet("A key's key_ops must be an array.")
    if (use is not None and use != "sig") or (ops is not None and "verify" not in ops):
        algorithms = ()
    return VerificationKey(kid=kid, algorithms=algorithms, key=key)


def validate_jwks(value: Any) -> dict[str, Any]:
    """
    ``value`` if it is a JWK Set (RFC 7517 §5) of at most ``MAX_KEYS`` public keys, at least one
    of which verifies signatures, with distinct ``kid`` values; else ``InvalidKeySet``.
    """
    if not isinstance(value, Mapping) or not isinstance(value.get("keys"), list):
        raise InvalidKeySet('Must be a JWK Set: a JSON object with a "keys" array.')
    keys = value["keys"]
    if not 0 < len(keys) <= MAX_KEYS:
        raise InvalidKeySet(f"Must hold 1 to {MAX_KEYS} keys.")
    parsed = [_parse(jwk) for jwk in keys]
    kids = [key.kid for key in parsed if key.kid is not None]
    if len(kids) != len(set(kids)):
        raise InvalidKeySet("Two keys have the same kid.")
    if not any(key.algorithms for key in parsed):
        raise InvalidKeySet("No key in the set verifies signatures.")
    return {"keys": [dict(jwk) for jwk in keys]}


def algorithms_of(jwks: Mapping[str, Any]) -> set[str]:
    """The algorithms some key of a validated set can verify."""
    return {alg for key in verification_keys(jwks) for alg in key.algorithms}


def verification_keys(jwks: Mapping[str, Any] | None) -> list[VerificationKey]:
    """The usable keys of a validated JWK Set; a key that cannot be used is left out."""
    found = []
    for jwk in (jwks or {}).get("keys", []):
        key = _parsed(json.dumps(jwk, sort_keys=True, separators=(",", ":")))
        if key is not None and key.algorithms:
            found.append(key)
    return found


@lru_cache(maxsize=512)
def _parsed(canonical: str) -> VerificationKey | None:
    # Reading a JWK builds a key object (an EC point check, an RSA modulus): once per process
    # and key, not on every assertion. Keyed by the key's own text, so a changed set is read anew.
    try:
        return _parse(json.loads(canonical))
    except InvalidKeySet:
        return None


def candidates(jwks: Mapping[str, Any] | None, alg: str, kid: str | None) -> list[VerificationKey]:
    """
    The keys that may have signed an assertion with ``alg`` and ``kid`` (RFC 7515 §4.1.4): the
    one with that ``kid``, or without one every key that verifies ``alg``.
    """
    keys = [key for key in verification_keys(jwks) if alg in key.algorithms]
    if kid is not None:
        keys = [key for key in keys if key.kid == kid]
    return keys


def knows_kid(jwks: Mapping[str, Any] | None, kid: str) -> bool:
    """Whether the set has a key with this ``kid``, whatever its algorithm."""
    return any(key.kid == kid for key in verification_keys(jwks))


def validate_jwks_uri(url: str) -> str:
    """
    ``url`` if the client-metadata fetcher can fetch it: https, a host, a path without dot
    segments, no user information, no fragment, at most ``MAX_URL`` characters. Whether its host
    is a public address is checked when it is fetched (the same guard as for metadata documents).
    """
    if len(url) > MAX_URL:
        raise InvalidKeySet(f"May have at most {MAX_URL} characters.")
    if any(c.isspace() or category(c) == "Cc" for c in url):
        raise InvalidKeySet("Contains spaces or control characters.")
    parts = uris.split(url)
    if parts is None or parts.scheme != "https" or not parts.hostname:
        raise InvalidKeySet("Must be an https URL with a host.")
    if parts.username is not None or parts.password is not None or "#" in url:
        raise InvalidKeySet("Must not contain user information or a fragment.")
    if not parts.path or parts.path == "/":
        raise InvalidKeySet("Must have a path.")
    if any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        raise InvalidKeySet("Must not contain . or .. path segments.")
    return url
