"""
Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, "CIMD"): a client
whose ``client_id`` is an https URL is described by the JSON document at that URL, with no
registration. MCP's authorization spec asks servers to accept them.

Fetching a URL that a stranger chose is a server-side request forgery risk, and a way to make
the server wait (the draft's security considerations). So the fetch:

- resolves the host, refuses it if any address is private, loopback, link-local or otherwise
  special-use, and connects to the address it checked (no second lookup to rebind);
- verifies TLS for the host name, follows no redirect, reads at most 5 KB within
  ``CLIENT_METADATA_TIMEOUT`` seconds, the name lookup included, and accepts only a 200 JSON
  object;

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

import contextlib
import hashlib
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.cache import cache
from django.db import IntegrityError, transaction

from twenty_oauth import signals
from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import OAuthError
from twenty_oauth.lookups import JoinedLookup
from twenty_oauth.models import Client
from twenty_oauth.protocol import fetch_guards, ratelimit, scopes, uris
from twenty_oauth.protocol.client_metadata import validate_metadata
from twenty_oauth.protocol.discovery import GRANT_TYPES

logger = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 5 * 1024
MAX_URL_LENGTH = 500  # Client.client_id
MIN_CACHE_SECONDS = 60
DEFAULT_CACHE_SECONDS = 300
CACHE_PREFIX = "twenty_oauth:client-metadata:"
#: How much longer than a fetch may last a request waits for another request's fetch of its URL.
FLIGHT_GRACE_SECONDS = 1
_client_record = JoinedLookup(Client, "client_id")
SECRET_FIELDS = ("client_secret", "client_secret_expires_at")
# The draft forbids shared-secret methods: a document is public. Left are none and
# private_key_jwt, with the document's jwks or jwks_uri (RFC 7523 §2.2).
AUTH_METHODS = ("none", "private_key_jwt")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


def is_public_address(address: IPAddress) -> bool:
    """
    A globally routable unicast address. Refused: RFC 1918 and other private ranges, loopback,
    link-local, shared (RFC 6598), multicast, reserved, documentation, and IPv6 forms that embed
    one of those (IPv4-mapped, 6to4, Teredo, NAT64).
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
        if address in ipaddress.IPv6Network("64:ff9b::/96"):
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(e is not None and not is_public_address(e) for e in embedded):
            return False
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> IPAddress:
    """The address to connect to: every address of the host must be public (unless allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise MetadataDocumentError(f"The host {host} could not be resolved.") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))
    if not addresses:
        raise MetadataDocumentError(f"The host {host} could not be resolved.")
    if not oauth_settings.CLIENT_METADATA_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not is_public_address(address):
                raise MetadataDocumentError(
                    f"The host {host} resolves to a private or special-use address; it is not fetched."
                )
    return addresses[0]


def _lookup(host: str, port: int, lease: fetch_guards.Lease | None) -> fetch_guards.Outcome:
    """
    ``resolve`` on a thread of its own. A lookup cannot be interrupted: one left behind by a
    timed-out fetch finishes on its own, holding the fetch's ``lease`` until then, so that no
    more lookups are pending than fetches may run at once.
    """
    outcome = fetch_guards.Outcome()
    if lease is not None:
        lease.extend()

    def run() -> None:
        try:
            outcome.set(resolve(host, port))
        except BaseException as exc:  # noqa: BLE001 - handed to the request that waits for it
            outcome.set(error=exc)
        finally:
            if lease is not None:
                lease.end()

    threading.Thread(target=run, name="twenty-oauth-resolve", daemon=True).start()
    return outcome


class _Deadline:
    """
    Ends a fetch when its time is up, whatever it is doing. A socket's timeout bounds each wait
    only: a server that sends one byte before each wait ends, in the TLS handshake, the status
    line or the headers, would otherwise hold the worker as long as it liked. At the deadline a
    timer shuts the connection down, which ends any read in progress.
    """

    def __init__(self, seconds: float) -> None:
        self._ends = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.0, self._ends - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline (at once if it has passed)."""
        with self._lock:
            self._sock = sock
            if self.expired:
                self._shut_down()

    def cancel(self) -> None:
        """The fetch is over: leave the socket to be closed by its owner."""
        with self._lock:
            self._timer.cancel()
            self._sock = None

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut_down()

    def _shut_down(self) -> None:
        if self._sock is not None:
            # The plain socket's shutdown: the TLS layer's would also drop its state, which the
            # thread reading from it still uses. OSError: closed, or handed over to TLS.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address, verifying the certificate for the host name."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float, deadline: _Deadline) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address
        self.deadline = deadline

    def connect(self) -> None:
        sock = socket.create_connection((str(self.address), self.port), self.timeout)
        self.deadline.watch(sock)
        tls = self._context.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        self.deadline.watch(tls)  # ``sock`` was handed over to it
        self.sock = tls
        tls.do_handshake()


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


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def fetch(url: str, lease: fetch_guards.Lease | None = None) -> tuple[dict[str, Any], int]:
    """
    GET the document: its JSON object and how many seconds it may be cached. ``lease`` is the
    fetch's place under the cap, which its name lookup keeps for as long as it runs.
    """
    validate_url(url)
    parts = urlsplit(url)
    port = parts.port or 443
    timeout = float(oauth_settings.CLIENT_METADATA_TIMEOUT)
    # Started before the name is resolved: CLIENT_METADATA_TIMEOUT bounds the whole fetch.
    deadline = _Deadline(timeout)
    timed_out = MetadataDocumentError("Fetching the metadata document timed out.")
    try:
        # The name server is the document owner's to choose, and a lookup cannot be interrupted:
        # it runs on a thread of its own, and this request waits only for what time is left.
        address = _lookup(parts.hostname, port, lease).result(timeout=deadline.remaining())
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection = _PinnedHTTPSConnection(parts.hostname, port, address, timeout, deadline)
        try:
            body, ttl = _get(connection, target)
        finally:
            connection.close()
    except (TimeoutError, ssl.SSLError, OSError, http.client.HTTPException) as exc:
        if deadline.expired or isinstance(exc, TimeoutError):
            raise timed_out from exc
        if isinstance(exc, ssl.SSLError):
            raise MetadataDocumentError(
                "The metadata document's TLS connection could not be verified."
            ) from exc
        raise MetadataDocumentError("The metadata document could not be fetched.") from exc
    finally:
        deadline.cancel()
    if deadline.expired:  # the body may have been cut short rather than failed
        raise timed_out
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MetadataDocumentError("The metadata document is not valid JSON.") from exc
    if not isinstance(document, dict):
        raise MetadataDocumentError("The metadata document must be a JSON object.")
    return document, ttl


def _get(connection: http.client.HTTPSConnection, target: str) -> tuple[bytes, int]:
    """The document's bytes and cache lifetime, once the answer shows it is one to read."""
    connection.request("GET", target, headers={"Accept": "application/json", "User-Agent": "twenty-oauth"})
    response = connection.getresponse()
    if 300 <= response.status < 400:
        raise MetadataDocumentError("The metadata document URL redirects; redirects are not followed.")
    if response.status != 200:
        raise MetadataDocumentError(f"The metadata document URL answered HTTP {response.status}.")
    if not _is_json(response.getheader("Content-Type", "")):
        raise MetadataDocumentError("The metadata document is not served as application/json.")
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_DOCUMENT_BYTES:
        raise MetadataDocumentError(f"The metadata document is larger than {MAX_DOCUMENT_BYTES} bytes.")
    body = b""
    while len(body) <= MAX_DOCUMENT_BYTES:
        chunk = response.read1(MAX_DOCUMENT_BYTES + 1 - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) > MAX_DOCUMENT_BYTES:
        raise MetadataDocumentError(f"The metadata document is larger than {MAX_DOCUMENT_BYTES} bytes.")
    return body, cache_seconds(response.getheader("Cache-Control", ""))


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


def find_client(client_id: str, *, ip: str) -> Client | None:
    """
    The active client with this ``client_id``, asked for from the address ``ip``. An https
    client_id is resolved through its metadata document (raising ``MetadataDocumentError``, or
    ``TooManyRequests`` / ``TemporarilyUnavailable`` from the guards), unless a client registered
    some other way already holds it; any other client_id is looked up in the database.
    """
    if not is_metadata_url(client_id):
        client = _client_record.get(client_id)
        return client if client is not None and client.is_active else None
    existing = _registered_otherwise(client_id)
    if existing is not None:
        return existing if existing.is_active else None
    client = _sync(client_id, load(client_id, ip=ip))
    return client if client.is_active else None
