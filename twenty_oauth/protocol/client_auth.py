"""
Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3).

Methods: ``client_secret_basic`` (the Authorization header, with the id and secret
form-urlencoded first, RFC 6749 §2.3.1), ``client_secret_post`` (both in the body),
``private_key_jwt`` (a JWT signed by the client's key, RFC 7523 §2.2, checked by
:mod:`client_assertions`) and ``none`` (a public client sends only its ``client_id``). A client
with a secret may use either secret method: both carry the same secret over TLS; a
``private_key_jwt`` client only its assertion. Using two methods at once is ``invalid_request``
(RFC 6749 §2.3). Repeated failures for one client from one address are throttled. A
``client_id`` that is an https URL is a client ID metadata document's (``metadata_documents``):
a public client, or a ``private_key_jwt`` one with the document's keys; fetching it is bounded
as at the authorization endpoint (429 ``too_many_requests`` or 503 ``temporarily_unavailable``
when refused for now, which do not count as failed authentications).

A public client may also name itself in the ``Authorization`` header with an empty password,
``Basic base64(client_id ":")``, as requests-oauthlib does when it has no secret: nothing is
authenticated either way, so it is the ``none`` method it amounts to. A confidential client's
empty password is a wrong secret like any other.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from urllib.parse import unquote_plus

from django.utils import timezone

from twenty_oauth import signals
from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidClient, InvalidRequest
from twenty_oauth.models import Client
from twenty_oauth.protocol import client_assertions, metadata_documents, opaque, ratelimit
from twenty_oauth.protocol.discovery import Site

LAST_USED_RESOLUTION = timedelta(minutes=5)


def parse_basic(header: str) -> tuple[str, str]:
    """Decode ``Basic base64(urlencode(id) ":" urlencode(secret))`` (RFC 6749 §2.3.1)."""
    scheme, _, encoded = header.partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("The Basic Authorization header is malformed.") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidRequest("The Basic Authorization header must hold client_id:client_secret.")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if "\x00" in client_id or "\x00" in secret:
        raise InvalidRequest("The Basic Authorization header is malformed.")
    return client_id, secret


def credentials(header: str, params: dict[str, str]) -> tuple[str, str | None, str]:
    """
    The ``(client_id, client_secret, method)`` presented in the ``Authorization`` header
    ``header`` or the parameters; checks nothing against the database. For ``private_key_jwt``
    the second value is the assertion, and the ``client_id`` the one it claims (RFC 7521 §4.2).
    """
    if "client_assertion" in params or "client_assertion_type" in params:
        if header or "client_secret" in params:
            raise InvalidRequest("Use one client authentication method, not two (RFC 6749 section 2.3).")
        assertion = params.get("client_assertion", "")
        return (
            client_assertions.claimed_client_id(assertion) or params.get("client_id", ""),
            assertion,
            "private_key_jwt",
        )
    if header[:6].lower() == "basic ":
        if "client_secret" in params:
            raise InvalidRequest("Use one client authentication method, not two (RFC 6749 section 2.3).")
        client_id, secret = parse_basic(header)
        if params.get("client_id", client_id) != client_id:
            raise InvalidRequest("client_id does not match the Authorization header.")
        return client_id, secret, "client_secret_basic"
    if header:
        raise InvalidRequest("Unsupported Authorization scheme for client authentication.")
    client_id = params.get("client_id")
    if not client_id:
        raise InvalidClient("Client authentication is required.")
    secret = params.get("client_secret")
    return client_id, secret, "client_secret_post" if secret is not None else "none"


def names_itself(method: str, secret: str | None) -> bool:
    """
    Whether the credentials only name a client and prove nothing: ``none`` (RFC 7591 §2), or
    HTTP Basic with an empty password (RFC 6749 §2.3.1 encodes the id and secret; the secret of
    a client that has none is empty).
    """
    return method == "none" or (method == "client_secret_basic" and secret == "")


def authenticate(
    params: dict[str, str],
    *,
    authorization: str,
    ip: str,
    site: Site | None = None,
    known: Client | None = None,
) -> Client:
    """
    The client authenticated by ``params`` and the ``Authorization`` header ``authorization``,
    sent from ``ip`` to ``site`` (whose issuer and token endpoint a ``private_key_jwt``
    assertion is addressed to; without it, the configured issuer); or ``InvalidClient`` (401) /
    ``TooManyRequests`` (429). ``known`` is a client row already read in this request (the one
    a presented code was issued to): when it holds the ``client_id`` presented, it is
    authenticated in place of a row read again.
    """
    client_id, secret, method = credentials(authorization, params)
    rate = oauth_settings.CLIENT_AUTH_FAILURE_LIMIT
    # Counted per client_id *and* address: a client_id is public (it travels in authorization
    # URLs), so a count per client_id alone would let anyone lock a client out by guessing.
    guesser = f"{client_id}\n{ip}"
    ratelimit.check("client_auth", guesser, rate)
    description = ""
    try:
        client = metadata_documents.find_client(client_id, ip=ip, known=known, authenticating=True)
        if method == "private_key_jwt":
            reason = _assertion_failure(client, params, site)
        else:
            reason = _failure(client, secret, method)
    except metadata_documents.MetadataDocumentError as exc:
        client, reason = None, f"unusable metadata document: {exc.description}"
        description = f"The client's metadata document cannot be used. {exc.description}"
    if reason:
        ratelimit.hit("client_auth", guesser, rate)
        signals.client_authentication_failed.send(sender=Client, client_id=client_id, reason=reason, ip=ip)
        raise InvalidClient(description or "Client authentication failed.")
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at > LAST_USED_RESOLUTION:
        Client.objects.filter(pk=client.pk).update(last_used_at=now)
    return client


def _failure(client: Client | None, secret: str | None, method: str) -> str:
    if client is None:
        return "unknown client"
    if client.is_public:
        return "" if names_itself(method, secret) else "a public client sent a secret"
    if client.token_endpoint_auth_method == Client.AuthMethod.PRIVATE_KEY_JWT:
        return "a private_key_jwt client sent no assertion"
    if method == "none":
        return "no secret"
    if not opaque.matches(secret or "", client.client_secret_digest):
        return "wrong secret"
    if client.client_secret_expires_at and client.client_secret_expires_at <= timezone.now():
        return "expired secret"
    return ""


def _assertion_failure(client: Client | None, params: dict[str, str], site: Site | None) -> str:
    """Why a ``private_key_jwt`` assertion does not authenticate ``client`` (RFC 7523 §3), or ''."""
    if client is None:
        return "unknown client"
    if params.get("client_assertion_type") != client_assertions.ASSERTION_TYPE:
        return "unsupported client_assertion_type"
    if "client_assertion" not in params:
        return "no client_assertion"
    site = site or Site.configured()
    audiences = (site.issuer, site.endpoint("token")) if site is not None else ()
    try:
        client_assertions.verify(
            client, params["client_assertion"], client_id=params.get("client_id"), audiences=audiences
        )
    except client_assertions.Refused as exc:
        return exc.reason
    return ""
