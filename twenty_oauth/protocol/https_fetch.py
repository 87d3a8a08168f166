"""
Fetching a JSON document from a URL a stranger chose: a client ID metadata document, a client's
``jwks_uri``. That is a server-side request forgery risk, and a way to make the server wait, so
a fetch:

- resolves the host on a thread of its own (a lookup cannot be interrupted), refuses it if any
  address is private, loopback, link-local or otherwise special-use, and connects to the
  address it checked (no second lookup to rebind);
- verifies TLS for the host name, follows no redirect, reads at most ``MAX_DOCUMENT_BYTES``
  within its timeout, the name lookup included, and accepts only a 200 JSON object.

What may be fetched at all, and how often, is :mod:`fetch_guards`' and the caller's business.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from twenty_oauth.conf import oauth_settings
from twenty_oauth.protocol import fetch_guards

MAX_DOCUMENT_BYTES = 5 * 1024
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """The document could not be fetched or is not a JSON object. ``description`` says why."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


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
        raise FetchError(f"The host {host} could not be resolved.") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))
    if not addresses:
        raise FetchError(f"The host {host} could not be resolved.")
    if not oauth_settings.CLIENT_METADATA_ALLOW_PRIVATE_ADDRESSES:
        for address in addresses:
            if not is_public_address(address):
                raise FetchError(
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


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def get_json(
    url: str, *, timeout: float, lease: fetch_guards.Lease | None = None
) -> tuple[dict[str, Any], str]:
    """
    GET the JSON object at the https ``url``, within ``timeout`` seconds in all, and its
    ``Cache-Control``. ``lease`` is the fetch's place under the cap, which its name lookup keeps
    for as long as it runs. Raises :class:`FetchError`.
    """
    parts = urlsplit(url)
    port = parts.port or 443
    # Started before the name is resolved: the timeout bounds the whole fetch.
    deadline = _Deadline(timeout)
    timed_out = FetchError("Fetching the metadata document timed out.")
    try:
        # The name server is the document owner's to choose, and a lookup cannot be interrupted:
        # it runs on a thread of its own, and this request waits only for what time is left.
        address = _lookup(parts.hostname, port, lease).result(timeout=deadline.remaining())
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection = _PinnedHTTPSConnection(parts.hostname, port, address, timeout, deadline)
        try:
            body, cache_control = _get(connection, target)
        finally:
            connection.close()
    except (TimeoutError, ssl.SSLError, OSError, http.client.HTTPException) as exc:
        if deadline.expired or isinstance(exc, TimeoutError):
            raise timed_out from exc
        if isinstance(exc, ssl.SSLError):
            raise FetchError("The metadata document's TLS connection could not be verified.") from exc
        raise FetchError("The metadata document could not be fetched.") from exc
    finally:
        deadline.cancel()
    if deadline.expired:  # the body may have been cut short rather than failed
        raise timed_out
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FetchError("The metadata document is not valid JSON.") from exc
    if not isinstance(document, dict):
        raise FetchError("The metadata document must be a JSON object.")
    return document, cache_control


def _get(connection: http.client.HTTPSConnection, target: str) -> tuple[bytes, str]:
    """The document's bytes and ``Cache-Control``, once the answer shows it is one to read."""
    connection.request("GET", target, headers={"Accept": "application/json", "User-Agent": "twenty-oauth"})
    response = connection.getresponse()
    if 300 <= response.status < 400:
        raise FetchError("The metadata document URL redirects; redirects are not followed.")
    if response.status != 200:
        raise FetchError(f"The metadata document URL answered HTTP {response.status}.")
    if not _is_json(response.getheader("Content-Type", "")):
        raise FetchError("The metadata document is not served as application/json.")
    length = response.getheader("Content-Length")
    if length is not None and length.isdigit() and int(length) > MAX_DOCUMENT_BYTES:
        raise FetchError(f"The metadata document is larger than {MAX_DOCUMENT_BYTES} bytes.")
    body = b""
    while len(body) <= MAX_DOCUMENT_BYTES:
        chunk = response.read1(MAX_DOCUMENT_BYTES + 1 - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) > MAX_DOCUMENT_BYTES:
        raise FetchError(f"The metadata document is larger than {MAX_DOCUMENT_BYTES} bytes.")
    return body, response.getheader("Cache-Control", "")
