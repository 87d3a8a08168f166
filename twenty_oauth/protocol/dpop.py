"""
DPoP proofs (RFC 9449): a client proves, with each request, that it holds the private key a
token is bound to.

A proof is a JWT the client signs for one request: its header carries the public key (``jwk``),
its claims the request's method (``htm``) and URL (``htu``), when it was made (``iat``), a unique
``jti`` and, at a resource, the hash of the access token (``ath``). :func:`check` runs the checks
of RFC 9449 §4.3, one small function each; a token bound to the key carries the key's RFC 7638
thumbprint as ``cnf.jkt`` (§6.1), computed as the signing keys' ``kid`` is (``keys.thumbprint``).

A ``jti`` is accepted once within the proof's window, across every process: the first use is
recorded with the cache's atomic ``add`` (``DPOP_REPLAY_CACHE``, shared when it is Redis or
Memcached). Nonces (§8), when ``DPOP_NONCES`` is on, need no storage at all: a nonce is an HMAC
of a time window under a key derived from ``SECRET_KEY``, so every process makes and checks the
same ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.core.cache import caches
from django.utils import timezone
from django.utils.crypto import salted_hmac

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidDPoPProof, UseDPoPNonce
from twenty_oauth.protocol.discovery import DPOP_SIGNING_ALGORITHMS, Site
from twenty_oauth.protocol.keys import THUMBPRINT_MEMBERS, thumbprint

logger = logging.getLogger("twenty_oauth")

PROOF_TYPE = "dpop+jwt"
#: §4.3 point 5: asymmetric algorithms only, never ``none`` nor a MAC (RFC 8725 §3.1).
SIGNING_ALGORITHMS = DPOP_SIGNING_ALGORITHMS
#: Seconds a proof's ``iat`` may be ahead of this server's clock (§11.1's "reasonable" leeway).
CLOCK_SKEW = 5
#: Members that only a private key has (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2).
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_MAX_PROOF_CHARS = 8192
_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Proof:
    """A proof that passed every check: the thumbprint of its key (``cnf.jkt``) and its claims."""

    jkt: str
    claims: dict[str, Any]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def is_thumbprint(value: str) -> bool:
    """Whether ``value`` can be an RFC 7638 SHA-256 thumbprint: 43 base64url characters."""
    return _THUMBPRINT.fullmatch(value) is not None


def token_hash(access_token: str) -> str:
    """``ath`` (§4.2): the base64url SHA-256 of the access token's ASCII bytes."""
    return b64url(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def comparable_url(url: str) -> str | None:
    """
    ``url`` as §4.3 point 9 compares it: without query and fragment, the scheme and host in lower
    case, the default port dropped, an empty path as ``/`` (RFC 3986 §6.2.2, §6.2.3).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path or '/'}"


# -- the checks of RFC 9449 §4.3, in its order ----------------------------------------------


def _single_jwt(proof: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """
    Points 1 and 2: one header field holding one well-formed JWT (a repeated header is joined by
    commas, which no JWT holds). Returns its header, its claims, the signed bytes and the
    signature. Parsed here rather than by ``jwt.decode``, whose character-by-character base64
    check costs more than the signature (measured: 250 of 400 µs a proof).
    """
    segments = proof.split(".") if proof and len(proof) <= _MAX_PROOF_CHARS else []
    if len(segments) != 3 or not all(_BASE64URL.fullmatch(segment) for segment in segments):
        raise InvalidDPoPProof("The DPoP header must hold exactly one JWT.")
    try:
        header, claims = (json.loads(_b64decode(part), parse_constant=_no_constant) for part in segments[:2])
        signature = _b64decode(segments[2])
    except ValueError as exc:  # binascii.Error, JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidDPoPProof("The DPoP proof is not a well-formed JWT.") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidDPoPProof("The DPoP proof is not a well-formed JWT.")
    return header, claims, f"{segments[0]}.{segments[1]}".encode("ascii"), signature


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _no_constant(name: str) -> None:
    """JSON has no NaN nor Infinity (RFC 8259 §6), which Python's parser would take."""
    raise ValueError(f"{name} is not JSON")


def _type(header: dict[str, Any]) -> None:
    """Point 4: ``typ`` is ``dpop+jwt``."""
    if header.get("typ") != PROOF_TYPE:
        raise InvalidDPoPProof(f"The DPoP proof's typ must be {PROOF_TYPE}.")


def _algorithm(header: dict[str, Any]) -> str:
    """Point 5: an asymmetric algorithm this server supports."""
    alg = header.get("alg")
    if alg not in SIGNING_ALGORITHMS:
        raise InvalidDPoPProof(f"The DPoP proof's alg must be one of: {' '.join(SIGNING_ALGORITHMS)}.")
    return alg


def _public_key(header: dict[str, Any]) -> dict[str, Any]:
    """Point 7: ``jwk`` is a public key of a known type, with no private member."""
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or jwk.get("kty") not in THUMBPRINT_MEMBERS:
        raise InvalidDPoPProof("The DPoP proof's jwk must be an EC, RSA or OKP public key.")
    if any(name in jwk for name in _PRIVATE_MEMBERS):
        raise InvalidDPoPProof("The DPoP proof's jwk must not contain a private key.")
    if not all(isinstance(jwk.get(name), str) for name in THUMBPRINT_MEMBERS[jwk["kty"]]):
        raise InvalidDPoPProof("The DPoP proof's jwk is incomplete.")
    return jwk


def _signature(signing_input: bytes, signature: bytes, jwk: dict[str, Any], alg: str) -> None:
    """Point 6: the signature verifies with the key of the ``jwk`` header."""
    try:
        key = _public_key_object(json.dumps(jwk, sort_keys=True), alg)
        valid = key.Algorithm.verify(signing_input, key.key, signature)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        valid = False
    if not valid:
        raise InvalidDPoPProof("The DPoP proof's signature does not verify with its jwk.")


@lru_cache(maxsize=1024)
def _public_key_object(jwk_json: str, alg: str) -> jwt.PyJWK:
    """The key of a ``jwk`` header: a client signs every proof with the same one."""
    return jwt.PyJWK(json.loads(jwk_json), algorithm=alg)


def _required_claims(claims: dict[str, Any], access_token: str | None) -> None:
    """Point 3: ``jti``, ``htm``, ``htu`` and ``iat`` (§4.2), and ``ath`` with an access token."""
    names = ("jti", "htm", "htu", "ath") if access_token is not None else ("jti", "htm", "htu")
    for name in names:
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise InvalidDPoPProof(f"The DPoP proof's {name} claim is missing.")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise InvalidDPoPProof("The DPoP proof's iat claim is missing.")


def _method(claims: dict[str, Any], method: str) -> None:
    """Point 8: ``htm`` is the request's method."""
    if claims["htm"] != method:
        raise InvalidDPoPProof("The DPoP proof's htm does not match the request's method.")


def _url(claims: dict[str, Any], url: str) -> str:
    """Point 9: ``htu`` is the request's URL, query and fragment aside."""
    htu = comparable_url(claims["htu"])
    if htu is None or htu != comparable_url(url):
        raise InvalidDPoPProof("The DPoP proof's htu does not match the request's URL.")
    return htu


def _nonce(claims: dict[str, Any], now: float) -> None:
    """Point 10: when this server gives nonces (§8), the proof carries a current one."""
    if oauth_settings.DPOP_NONCES and not nonce_is_current(claims.get("nonce"), now):
        raise UseDPoPNonce(current_nonce(now))


def _fresh(claims: dict[str, Any], now: float) -> None:
    """Point 11: ``iat`` within the accepted window (§11.1), a little ahead allowed for skew."""
    iat = claims["iat"]
    if iat > now + CLOCK_SKEW or iat < now - oauth_settings.DPOP_PROOF_MAX_AGE:
        raise InvalidDPoPProof("The DPoP proof's iat is outside the accepted window.")


def _access_token_hash(claims: dict[str, Any], access_token: str | None) -> None:
    """Point 12: at a resource, ``ath`` is the hash of the access token presented with it."""
    if access_token is None:
        if "ath" in claims:
            raise InvalidDPoPProof("A DPoP proof sent to the token endpoint carries no ath.")
        return
    if not hmac.compare_digest(claims["ath"], token_hash(access_token)):
        raise InvalidDPoPProof("The DPoP proof's ath does not match the access token.")


def _bound_key(jkt: str, bound_jkt: str | None) -> None:
    """Point 13: the proof's key is the one the access token is bound to (``cnf.jkt``, §6.1)."""
    if bound_jkt is not None and not hmac.compare_digest(jkt, bound_jkt):
        raise InvalidDPoPProof("The DPoP proof's key is not the one the access token is bound to.")


def _first_use(claims: dict[str, Any], htu: str) -> None:
    """
    §11.1: a ``jti`` is accepted once for a URL within the window, across all processes: the
    cache's ``add`` is atomic, so of two requests with one proof only one records it. A cache
    that cannot be reached refuses the proof rather than let a replay through.
    """
    key = "twenty_oauth:dpop:" + hashlib.sha256(f"{claims['jti']}\n{htu}".encode()).hexdigest()[:40]
    try:
        first = caches[oauth_settings.DPOP_REPLAY_CACHE].add(
            key, 1, oauth_settings.DPOP_PROOF_MAX_AGE + CLOCK_SKEW + 1
        )
    except Exception as exc:  # noqa: BLE001 - any cache backend error
        logger.error("DPoP replay cache unavailable, proof refused: %s", type(exc).__name__)
        first = False
    if not first:
        raise InvalidDPoPProof("The DPoP proof was already used.")


def check(
    proof: str,
    *,
    method: str,
    url: str,
    access_token: str | None = None,
    bound_jkt: str | None = None,
) -> Proof:
    """
    Check a DPoP proof sent with a request for ``method`` at ``url`` (RFC 9449 §4.3), and with
    ``access_token`` at a resource (§7), whose ``cnf.jkt`` is ``bound_jkt``. Raises
    :class:`~twenty_oauth.errors.InvalidDPoPProof`, or :class:`~twenty_oauth.errors.UseDPoPNonce`
    when a nonce is required. The ``jti`` is recorded only once every other check passed.
    """
    now = timezone.now().timestamp()
    header, claims, signing_input, signature = _single_jwt(proof)
    _type(header)
    alg = _algorithm(header)
    jwk = _public_key(header)
    _signature(signing_input, signature, jwk, alg)
    _required_claims(claims, access_token)
    _method(claims, method)
    htu = _url(claims, url)
    _fresh(claims, now)
    _access_token_hash(claims, access_token)
    jkt = thumbprint(jwk)
    _bound_key(jkt, bound_jkt)
    if access_token is None:
        # The token endpoint's nonces (§8); this server gives none at resources (§9).
        _nonce(claims, now)
    _first_use(claims, htu)
    return Proof(jkt=jkt, claims=claims)


def required_for(client: Any) -> bool:
    """
    Whether every token request of ``client`` must carry a proof: it registered
    ``dpop_bound_access_tokens`` (RFC 9449 §5.2), or it is public and
    ``DPOP_REQUIRED_FOR_PUBLIC_CLIENTS`` is set.
    """
    return client.dpop_bound_access_tokens or (
        client.is_public and oauth_settings.DPOP_REQUIRED_FOR_PUBLIC_CLIENTS
    )


def token_request_key(proof: str | None, client: Any, *, site: Site) -> str | None:
    """
    The thumbprint the tokens of ``client``'s token request are bound to (RFC 9449 §5): that of
    the key of its proof, checked for ``POST`` at ``site``'s token endpoint; None with no proof,
    when the client may send none.
    """
    if proof is None:
        if required_for(client):
            raise InvalidDPoPProof("This client's token requests must carry a DPoP proof.")
        return None
    return check(proof, method="POST", url=site.endpoint("token")).jkt


# -- nonces (§8) ----------------------------------------------------------------------------


def _nonce_for(window: int) -> str:
    mac = salted_hmac("twenty_oauth.dpop.nonce", str(window), algorithm="sha256").digest()[:18]
    return f"{window:x}.{b64url(mac)}"


def current_nonce(now: float | None = None) -> str:
    """The nonce of the current window (``DPOP_NONCE_SECONDS`` long): the same in every process."""
    now = timezone.now().timestamp() if now is None else now
    return _nonce_for(int(now) // oauth_settings.DPOP_NONCE_SECONDS)


def nonce_is_current(value: Any, now: float) -> bool:
    """A nonce of the current window or of the one before, so that one given at its end still works."""
    if not isinstance(value, str) or len(value) > 64:
        return False
    window = int(now) // oauth_settings.DPOP_NONCE_SECONDS
    return any(hmac.compare_digest(value, _nonce_for(w)) for w in (window, window - 1))


def nonce_headers() -> dict[str, str]:
    """``DPoP-Nonce`` for a response, when nonces are on: a client learns the next one early (§8.2)."""
    return {"DPoP-Nonce": current_nonce()} if oauth_settings.DPOP_NONCES else {}


def challenge(error: str | None = None, description: str | None = None, scope: str | None = None) -> str:
    """A ``WWW-Authenticate: DPoP`` challenge (§7.1), naming the algorithms proofs may use."""
    params = {
        "error": error,
        "error_description": description,
        "scope": scope,
        "algs": " ".join(SIGNING_ALGORITHMS),
    }
    return "DPoP " + ", ".join(f'{k}="{v}"' for k, v in params.items() if v)
