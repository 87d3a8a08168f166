"""
Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, "CIMD"): a client
whose ``client_id`` is an https URL is described by the JSON document at that URL, with no
registration. MCP's authorization spec asks servers to accept them.

Fetching a URL that a stranger chose is a server-side request forgery risk, and a way to make
the server wait (the draft's security considerations). So the fetch is
:mod:`twenty_oauth.protocol.https_fetch`'s (public addresses only, pinned, TLS verified, no
redirect, at most 5 KB within ``CLIENT_METADATA_TIMEOUT`` seconds, the name lookup included),
and before any fetch (see :mod:`twenty_oauth.protocol.fetch_guards`):

- a URL that failed within ``CLIENT_METADATA_FAILURE_CACHE_SECONDS`` gets the same error again,
  unfetched;
- the requester's address spends one of its ``CLIENT_METADATA_ADDRESS_LIMIT`` requests: past it,
  429, whatever host each request names (wildcard DNS gives anyone endless host names);
- a fetch of the same URL already in flight in this process is waited for, not repeated;
- a place among ``CLIENT_METADATA_MAX_CONCURRENT_FETCHES`` is taken, or the request fails at
  once with 503;
- the host spends one of its ``CLIENT_METADATA_FETCH_LIMIT`` fetches: whoever sends client_ids
  cannot turn the server into a flood against one site.

A document is kept in Django's cache for as long as its ``Cache-Control`` allows, within
[``MIN_CACHE_SECONDS``, ``CLIENT_METADATA_MAX_CACHE_SECONDS``]; ``no-store`` and ``no-cache``
are obeyed. The client's row in ``Client`` (source ``metadata_document``) follows the document,
so that consents, codes and tokens can refer to it, and an administrator can deactivate it.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import unquote

from django.core.cache import cache
from django.db import IntegrityError, transaction

from twenty_oauth import signals
from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import OAuthError
from twenty_oauth.lookups import JoinedLookup
from twenty_oauth.models import Client
from twenty_oauth.protocol import fetch_guards, https_fetch, ratelimit, scopes, uris
from twenty_oauth.protocol.client_metadata import validate_metadata
from twenty_oauth.protocol.discovery import GRANT_TYPES

logger = logging.getLogger(__name__)

MAX_URL_LENGTH = 500  # Client.client_id
MIN_CACHE_SECONDS = 60
DEFAULT_CACHE_SECONDS = 300
CACHE_PREFIX = "twenty_oauth:client-metadata:"
#: How much longer than a fetch may last a request waits for another request's fetch of its URL.
FLIGHT_GRACE_SECONDS = 1
_client_record = JoinedLookup(Client, "client_id")
_authenticating_record = JoinedLookup(Client, "client_id", only=Client.authentication_fields())
SECRET_FIELDS = ("client_secret", "client_secret_expires_at")
# The draft forbids shared-secret methods: a document is public. Left are none and
# private_key_jwt, with the document's jwks or jwks_uri (RFC 7523 §2.2).
AUTH_METHODS = ("none", "private_key_jwt")


class MetadataDocumentError(Exception):
    """The document could not be fetched or is not acceptable. ``description`` says why."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def is_metadata_url(client_id: str) -> bool:
    """Whether ``client_id`` names a metadata document this server should fetch."""
    return oauth_settings.CLIENT_METADATA_DOCUMENTS and client_id.startswith("https://")


def validate_url(url: str) -> None:
    """
    The draft's rules for a client identifier: https, a host, a path without dot segments, no
    fragment, no user information. A query is allowed (though discouraged), so is a port.
    """
    if len(url) > MAX_URL_LENGTH:
        raise MetadataDocumentError(f"The client_id URL may have at most {MAX_URL_LENGTH} characters.")
    if any(c.isspace() or ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise MetadataDocumentError("The client_id URL contains spaces or control characters.")
    parts = uris.split(url)
    if parts is None:
        raise MetadataDocumentError("The client_id URL is malformed.")
    if parts.scheme != "https" or not parts.hostname:
        raise MetadataDocumentError("The client_id URL must be an https URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise MetadataDocumentError("The client_id URL must not contain user information.")
    if "#" in url:
        raise MetadataDocumentError("The client_id URL must not contain a fragment.")
    if not parts.path or parts.path == "/":
        raise MetadataDocumentError("The client_id URL must have a path.")
    if any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        raise MetadataDocumentError("The client_id URL must not contain . or .. path segments.")


def cache_seconds(cache_control: str) -> int:
    """How long the document may be kept: its ``max-age``, bounded; 0 for no-store or no-cache."""
    directives: dict[str, str] = {}
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    longest = oauth_settings.CLIENT_METADATA_MAX_CACHE_SECONDS
    if "no-store" in directives or "no-cache" in directives or longest <= 0:
        return 0
    if "max-age" not in directives:
        return min(DEFAULT_CACHE_SECONDS, longest)
    try:
        max_age = int(directives["max-age"])
    except ValueError:
        return 0
    if max_age <= 0:
        return 0
    return min(max(max_age, MIN_CACHE_SECONDS), longest)


def fetch(url: str, lease: fetch_guards.Lease | None = None) -> tuple[dict[str, Any], int]:
    """
    GET the document (:func:`https_fetch.get_json`): its JSON object and how many seconds it may
    be cached. ``lease`` is the fetch's place under the cap.
    """
    validate_url(url)
    try:
        document, cache_control = https_fetch.get_json(
            url, timeout=float(oauth_settings.CLIENT_METADATA_TIMEOUT), lease=lease
        )
    except https_fetch.FetchError as exc:
        raise MetadataDocumentError(exc.description) from exc
    return document, cache_seconds(cache_control)


def validate_document(url: str, document: dict[str, Any]) -> dict[str, Any]:
    """
    The ``Client`` fields a document describes, checked as a registration is (RFC 7591 §2) and
    by the draft's own rules: its ``client_id`` is its URL, character for character; it
    holds no secret; its ``token_endpoint_auth_method`` is ``none`` or ``private_key_jwt``. Grant
    types and scopes this server does not know are left out, as a document may be written for
    many servers.
    """
    if document.get("client_id") != url:
        raise MetadataDocumentError("The document's client_id is not exactly its URL.")
    if any(name in document for name in SECRET_FIELDS):
        raise MetadataDocumentError("A metadata document must not contain a client secret.")
    metadata = {k: v for k, v in document.items() if k != "client_id"}
    method = metadata.setdefault("token_endpoint_auth_method", "none")
    if method not in AUTH_METHODS:
        raise MetadataDocumentError(
            f"token_endpoint_auth_method {method!r} is not supported for metadata documents; use none "
            "or private_key_jwt."
        )
    grant_types = metadata.get("grant_types")
    if isinstance(grant_types, list) and all(isinstance(g, str) for g in grant_types):
        metadata["grant_types"] = [g for g in grant_types if g in GRANT_TYPES]
        if grant_types and not metadata["grant_types"]:
            raise MetadataDocumentError("The document lists no grant type this server supports.")
    scope = metadata.get("scope")
    if isinstance(scope, str) and scope.strip():
        known = [s for s in scope.split() if s in scopes.registry()]
        if not known:
            raise MetadataDocumentError("The document's scope names no scope this server knows.")
        metadata["scope"] = " ".join(known)
    try:
        return validate_metadata(metadata, source=Client.Source.METADATA_DOCUMENT)
    except OAuthError as exc:
        raise MetadataDocumentError(exc.description or exc.error) from exc


def _cache_key(url: str) -> str:
    return CACHE_PREFIX + hashlib.sha256(url.encode()).hexdigest()


_slots = fetch_guards.FetchSlots()
_flights = fetch_guards.SingleFlight()
_failures = fetch_guards.FailureMemory()


def forget() -> None:
    """Forget the failures this process remembers (documents in Django's cache stay)."""
    _failures.clear()


def _log_refusal(url: str, exc: MetadataDocumentError) -> None:
    # Both may hold what the sender wrote: one line each, cut short (see signals.printable).
    logger.warning(
        "Client metadata document %s refused: %s",
        signals.printable(url),
        signals.printable(exc.description),
    )


def check_url(url: str) -> None:
    """``validate_url``, with a refused URL logged."""
    try:
        validate_url(url)
    except MetadataDocumentError as exc:
        _log_refusal(url, exc)
        raise


def within_fetch_limit(url: str) -> None:
    """Count a fetch from ``url``'s host; refuse it once ``CLIENT_METADATA_FETCH_LIMIT`` is spent."""
    rate = oauth_settings.CLIENT_METADATA_FETCH_LIMIT
    parts = uris.split(url)
    host = (parts.hostname or "").lower() if parts is not None else ""
    if rate and ratelimit.hit("client-metadata-fetch", host, rate) > ratelimit.parse_rate(rate)[0]:
        raise MetadataDocumentError(f"Too many metadata documents were fetched from {host}; try again later.")


def within_address_limit(ip: str) -> None:
    """Count a request from ``ip`` that would fetch; 429 once ``CLIENT_METADATA_ADDRESS_LIMIT`` is spent."""
    ratelimit.spend(
        "client-metadata-address",
        ip,
        oauth_settings.CLIENT_METADATA_ADDRESS_LIMIT,
        "Too many applications unknown to this server were named from your address; try again later.",
    )


def _fetch_and_keep(url: str) -> dict[str, Any]:
    """Fetch and check the document under the cap and the host's limit; cache it, or its failure."""
    with _slots.slot() as lease:
        try:
            within_fetch_limit(url)
        except MetadataDocumentError as exc:
            _log_refusal(url, exc)  # not the URL's fault: not remembered
            raise
        try:
            document, ttl = fetch(url, lease)
            validate_document(url, document)
        except MetadataDocumentError as exc:
            _failures.remember(
                url,
                exc.description,
                seconds=oauth_settings.CLIENT_METADATA_FAILURE_CACHE_SECONDS,
                size=oauth_settings.CLIENT_METADATA_FAILURE_CACHE_SIZE,
            )
            _log_refusal(url, exc)
            raise
    if ttl > 0:
        cache.set(_cache_key(url), document, ttl)
    return document


def load(url: str, *, ip: str) -> dict[str, Any]:
    """
    The validated fields of the document at ``url``, requested from ``ip``: from the cache, or
    fetched under the guards listed at the top of this module, in that order.
    """
    document = cache.get(_cache_key(url))
    if document is None:
        check_url(url)
        remembered = _failures.recall(url)
        if remembered is not None:
            raise MetadataDocumentError(remembered)
        within_address_limit(ip)
        wait = oauth_settings.CLIENT_METADATA_TIMEOUT + FLIGHT_GRACE_SECONDS
        try:
            document = _flights.run(url, lambda: _fetch_and_keep(url), wait=wait)
        except TimeoutError:
            raise MetadataDocumentError("Fetching the metadata document timed out.") from None
    return validate_document(url, document)


def _sync(url: str, fields: dict[str, Any]) -> Client:
    """The client's row, created or brought up to date with its document."""
    client = Client.objects.filter(client_id=url).first()
    if client is None:
        try:
            with transaction.atomic():
                return Client.objects.create(client_id=url, source=Client.Source.METADATA_DOCUMENT, **fields)
        except IntegrityError:
            client = Client.objects.get(client_id=url)
    changed = [name for name, value in fields.items() if getattr(client, name) != value]
    if changed:
        for name in changed:
            setattr(client, name, fields[name])
        client.save(update_fields=changed)
    return client


def _registered_otherwise(client_id: str) -> Client | None:
    """The client that holds ``client_id`` without a metadata document (admin, command), if any."""
    existing = Client.objects.filter(client_id=client_id).first()
    if existing is not None and existing.source != Client.Source.METADATA_DOCUMENT:
        return existing
    return None


def may_fetch(client_id: str) -> bool:
    """
    Whether resolving ``client_id`` may fetch a metadata document: it is an https URL of the
    draft's form (else ``MetadataDocumentError``) that no client registered another way holds.
    Looks at the database only, fetches nothing.
    """
    if not is_metadata_url(client_id) or _registered_otherwise(client_id) is not None:
        return False
    check_url(client_id)
    return True


def find_client(
    client_id: str, *, ip: str, known: Client | None = None, authenticating: bool = False
) -> Client | None:
    """
    The active client with this ``client_id``, asked for from the address ``ip``. An https
    client_id is resolved through its metadata document (raising ``MetadataDocumentError``, or
    ``TooManyRequests`` / ``TemporarilyUnavailable`` from the guards), unless a client registered
    some other way already holds it; any other client_id is looked up in the database, unless
    ``known`` is its row, read by the caller in this request. A client ``authenticating`` is
    read without its registration metadata (``Client.REGISTRATION_METADATA``).
    """
    if not is_metadata_url(client_id):
        if known is not None and known.client_id == client_id:
            return known if known.is_active else None
        client = (_authenticating_record if authenticating else _client_record).get(client_id)
        return client if client is not None and client.is_active else None
    existing = _registered_otherwise(client_id)
    if existing is not None:
        return existing if existing.is_active else None
    client = _sync(client_id, load(client_id, ip=ip))
    return client if client.is_active else None
