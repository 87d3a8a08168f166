"""
``private_key_jwt`` client authentication: a JWT the client signs with its private key, sent as
``client_assertion`` with ``client_assertion_type`` ``urn:ietf:params:oauth:client-assertion-type:jwt-bearer``
(RFC 7521 §4.2, RFC 7523 §2.2), and checked as RFC 7523 §3 says, one small function per rule:

- the header's ``alg`` is one this server accepts (never ``none`` nor HMAC, RFC 8725 §3.1), and
  the client's ``token_endpoint_auth_signing_alg`` when it registered one;
- one of the client's keys verifies the signature (the one named by ``kid`` when there is one);
- ``iss`` and ``sub`` are the client's ``client_id`` (§3 items 1, 2);
- ``aud`` is this server's issuer identifier or its token endpoint URL (§3 item 3; see DESIGN);
- ``exp`` is present, not past, and at most ``CLIENT_ASSERTION_MAX_LIFETIME`` ahead (§3 item 4);
  ``nbf`` and ``iat``, when present, are not in the future (§3 items 5, 6), all within
  ``CLIENT_ASSERTION_CLOCK_SKEW``;
- ``jti`` is present and used once until ``exp`` (§3 item 7), in Django's cache, which all
  workers share (``cache.add`` is atomic).

A client's keys are its registered ``jwks``, or the set at its ``jwks_uri``, fetched by the
client-metadata fetcher (:func:`metadata_documents.fetch`: the same SSRF guard, time limit and
size limit, and its per-host fetch limit) and kept in Django's cache for as long as its
``Cache-Control`` allows, at least ``MIN_CACHE_SECONDS``. The cache is the shared one rather
than one per process: every worker then reads the same set, a host is fetched once however many
workers there are, and the "at most once a minute" below holds for the whole site. An assertion
whose ``kid`` is not in the set (a client rotating its keys) fetches the set again, at most once
a minute per client: the ``kid`` is read before any signature is checked, so anyone can send one.

Every failure is ``invalid_client`` (RFC 7521 §4.2.1); which rule failed goes to the audit log
and the ``client_authentication_failed`` signal, never to the client.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping
from typing import Any

import jwt
from django.core.cache import cache
from django.utils import timezone
from jwt.algorithms import OKPAlgorithm
from jwt.api_jws import PyJWS

from twenty_oauth import signals
from twenty_oauth.conf import oauth_settings
from twenty_oauth.models import Client
from twenty_oauth.protocol import client_keys, metadata_documents
from twenty_oauth.protocol.discovery import ASSERTION_SIGNING_ALGORITHMS

logger = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_JTI = 256
#: Least time between two fetches of a client's ``jwks_uri`` that an unknown ``kid`` forces.
REFETCH_SECONDS = 60
JTI_PREFIX = "twenty_oauth:assertion-jti:"
JWKS_PREFIX = "twenty_oauth:client-jwks:"
REFETCH_PREFIX = "twenty_oauth:client-jwks-fetched:"

#: PyJWT knows EdDSA by its polymorphic name only; RFC 9864's names verify the same way, and
#: the key (chosen for the header's alg, see client_keys) fixes the curve.
_jws = PyJWS(algorithms=["ES256", "RS256", "PS256", "EdDSA"])
_jws.register_algorithm("Ed25519", OKPAlgorithm())
_jws.register_algorithm("Ed448", OKPAlgorithm())


class Refused(Exception):
    """The assertion is not accepted. ``reason`` is for the audit log, not for the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def claimed_client_id(assertion: str) -> str:
    """
    The client an assertion says it comes from, its ``sub`` (RFC 7523 §2.2), read without any
    check: only to find whose keys to check it with. '' when it cannot be read.
    """
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) else ""


def verify(client: Client, assertion: str, *, client_id: str | None, audiences: tuple[str, ...]) -> None:
    """
    Accept ``assertion`` as ``client``'s authentication, or raise ``Refused``. ``client_id`` is
    the parameter, when the request sent one (RFC 7521 §4.2: it must name the same client);
    ``audiences`` the values ``aud`` may hold. Spends the assertion's ``jti``.
    """
    if client.token_endpoint_auth_method != Client.AuthMethod.PRIVATE_KEY_JWT:
        raise Refused("the client is not registered for private_key_jwt")
    if client_id is not None and client_id != client.client_id:
        raise Refused("client_id does not match the assertion's sub")
    alg, kid = _header(client, assertion)
    claims = _signed_claims(client, assertion, alg, kid)
    now = timezone.now().timestamp()
    _check_subject(claims, client)
    _check_audience(claims, audiences)
    exp = _check_times(claims, now)
    _use_once(client, claims.get("jti"), exp, now)


def _header(client: Client, assertion: str) -> tuple[str, str | None]:
    """The ``alg`` and ``kid`` of the JOSE header (RFC 7515 §4.1), if acceptable."""
    try:
        header = _jws.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise Refused("the assertion is not a JWS") from exc
    alg = header.get("alg")
    if alg not in ASSERTION_SIGNING_ALGORITHMS:
        raise Refused("the assertion's alg is not accepted")
    if client.token_endpoint_auth_signing_alg and alg != client.token_endpoint_auth_signing_alg:
        raise Refused("the assertion's alg is not the client's token_endpoint_auth_signing_alg")
    if "crit" in header:
        raise Refused("the assertion has critical header parameters")
    return alg, header.get("kid")


def _signed_claims(client: Client, assertion: str, alg: str, kid: str | None) -> dict[str, Any]:
    """The claims, once one of the client's keys verified the signature (RFC 7515 §5.2)."""
    jwks = _key_set(client)
    payload = _verified_payload(jwks, assertion, alg, kid)
    unknown = kid is not None and not client_keys.knows_kid(jwks, kid)
    if payload is None and client.jwks_uri and (unknown or kid is None) and _may_fetch_again(client):
        # The client may have rotated its keys since the set was fetched.
        jwks = _key_set(client, again=True)
        payload = _verified_payload(jwks, assertion, alg, kid)
        unknown = kid is not None and not client_keys.knows_kid(jwks, kid)
    if payload is None:
        raise Refused("the assertion's kid is not one of the client's keys" if unknown else "bad signature")
    try:
        claims = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused("the assertion's claims are not JSON") from exc
    if not isinstance(claims, dict):
        raise Refused("the assertion's claims are not a JSON object")
    return claims


def _verified_payload(
    jwks: Mapping[str, Any] | None, assertion: str, alg: str, kid: str | None
) -> bytes | None:
    for key in client_keys.candidates(jwks, alg, kid):
        try:
            return _jws.decode_complete(assertion, key.key, algorithms=[alg])["payload"]
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise Refused("the assertion is not a JWS") from exc
    return None


def _check_subject(claims: dict[str, Any], client: Client) -> None:
    """RFC 7523 §3 items 1 and 2, §2.2: ``iss`` and ``sub`` are both the ``client_id``."""
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise Refused("iss and sub are not both the client_id")


def _check_audience(claims: dict[str, Any], audiences: tuple[str, ...]) -> None:
    """RFC 7523 §3 item 3: ``aud`` names this server (one value of an array is enough)."""
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(isinstance(value, str) and value in audiences for value in values):
        raise Refused("aud is not this server")


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refused(f"{name} is not a number")
    return value


def _check_times(claims: dict[str, Any], now: float) -> float:
    """RFC 7523 §3 items 4 to 6: ``exp`` present, live and near; ``nbf`` and ``iat`` not ahead."""
    skew = oauth_settings.CLIENT_ASSERTION_CLOCK_SKEW
    exp = _number(claims, "exp")
    if exp is None:
        raise Refused("exp is missing")
    if exp + skew <= now:
        raise Refused("the assertion has expired")
    if exp > now + oauth_settings.CLIENT_ASSERTION_MAX_LIFETIME + skew:
        raise Refused("exp is too far ahead")
    for name in ("nbf", "iat"):
        value = _number(claims, name)
        if value is not None and value > now + skew:
            raise Refused(f"{name} is in the future")
    return exp


def _use_once(client: Client, jti: Any, exp: float, now: float) -> None:
    """
    RFC 7523 §3 item 7: a ``jti`` is accepted once, until the assertion expires. When the cache
    cannot be reached the assertion is refused: a replay must not pass for want of a memory.
    """
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI:
        raise Refused("jti is missing")
    used = f"{client.client_id}\n{jti}".encode("utf-8", "surrogatepass")
    key = JTI_PREFIX + hashlib.sha256(used).hexdigest()
    lifetime = max(1, math.ceil(exp + oauth_settings.CLIENT_ASSERTION_CLOCK_SKEW - now))
    try:
        fresh = cache.add(key, 1, timeout=lifetime)
    except Exception as exc:  # noqa: BLE001 - any cache backend's own error
        logger.error("assertion replay cache unavailable, assertion refused: %s", type(exc).__name__)
        raise Refused("the replay cache is unavailable") from exc
    if not fresh:
        raise Refused("the assertion's jti was already used")


def _key_set(client: Client, *, again: bool = False) -> Mapping[str, Any] | None:
    """The client's JWK Set: registered, or from its ``jwks_uri`` (cached, or fetched)."""
    url = client.jwks_uri
    if not url:
        return client.jwks
    key = JWKS_PREFIX + hashlib.sha256(url.encode()).hexdigest()
    if not again:
        jwks = cache.get(key)
        if jwks is not None:
            return jwks
    try:
        metadata_documents.validate_url(url)  # before it counts against its host's limit
        metadata_documents.within_fetch_limit(url)
        document, ttl = metadata_documents.fetch(url)
        jwks = client_keys.validate_jwks(document)
    except (metadata_documents.MetadataDocumentError, client_keys.InvalidKeySet) as exc:
        logger.warning(
            "JWK Set %s of client %s refused: %s",
            signals.printable(url),
            signals.printable(client.client_id),
            signals.printable(str(exc)),
        )
        raise Refused("the client's jwks_uri cannot be used") from exc
    # Kept a minute even when its Cache-Control says no-store: a set fetched for every assertion
    # would make the client's host answer for every token request. A rotation is seen at once
    # through the unknown kid.
    cache.set(key, jwks, max(ttl, metadata_documents.MIN_CACHE_SECONDS))
    cache.set(REFETCH_PREFIX + str(client.pk), 1, REFETCH_SECONDS)
    return jwks


def _may_fetch_again(client: Client) -> bool:
    """Whether the client's set was last fetched at least ``REFETCH_SECONDS`` ago (all workers)."""
    return cache.add(REFETCH_PREFIX + str(client.pk), 1, REFETCH_SECONDS)
