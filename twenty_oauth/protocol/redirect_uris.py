"""
Redirect URI rules: what a client may register and how a request's URI is matched.

Registration (RFC 9700 §4.1.3, RFC 8252 §7): https; http only on a loopback host; or a
private-use scheme for native apps. Never a fragment (RFC 6749 §3.1.2), a wildcard, user
information, or a scheme that runs code or reads files.

An ``application_type`` (OpenID Connect Dynamic Client Registration 1.0 §2) narrows them:
``web`` clients redirect to https on a host that is not loopback, ``native`` ones to loopback
http or a private-use scheme (RFC 8252 §7.1, §7.3), or to a claimed https URI (RFC 8252 §7.2)
only when their client ID metadata document, served from the host that vouches for them,
says so.

Matching (RFC 9700 §4.1.3): the exact string, except that a loopback redirect URI matches with
any port, because native apps get an ephemeral one from the system (RFC 8252 §7.3).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlencode

from twenty_oauth.errors import InvalidRedirectURI
from twenty_oauth.protocol import uris

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
FORBIDDEN_SCHEMES = frozenset(
    {"javascript", "data", "vbscript", "file", "about", "blob", "filesystem", "ftp", "ws", "wss"}
)
MAX_LENGTH = 2000
#: A loopback redirect URI as written, with its port (if any) captured so that it can be ignored.
LOOPBACK_PREFIX_RE = re.compile(
    r"http://(?:127\.0\.0\.1|\[::1\]|localhost)(?::(?P<port>[0-9]{1,5}))?(?=[/?]|\Z)"
)


def is_loopback(parts: SplitResult) -> bool:
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def validate(uri: object) -> str:
    """Check one redirect URI offered at registration; return it unchanged (never normalised)."""
    if not isinstance(uri, str) or not uri:
        raise InvalidRedirectURI("Each redirect URI must be a non-empty string.")
    if len(uri) > MAX_LENGTH:
        raise InvalidRedirectURI(f"A redirect URI may have at most {MAX_LENGTH} characters.")
    if any(c.isspace() or ord(c) < 0x21 or c in '<>"\\^`{|}' for c in uri):
        raise InvalidRedirectURI("A redirect URI may not contain spaces or control characters.")
    parts = uris.split(uri)
    if parts is None or not parts.scheme:
        raise InvalidRedirectURI(f"{uri!r} is not an absolute URI.")
    scheme = parts.scheme.lower()
    if "#" in uri:
        raise InvalidRedirectURI("A redirect URI must not contain a fragment (RFC 6749 section 3.1.2).")
    if "*" in uri:
        raise InvalidRedirectURI("Wildcards are not allowed in redirect URIs (RFC 9700 section 4.1.3).")
    if scheme in FORBIDDEN_SCHEMES:
        raise InvalidRedirectURI(f"The scheme {scheme!r} is not allowed for redirect URIs.")
    if parts.username is not None or parts.password is not None:
        raise InvalidRedirectURI("A redirect URI must not contain user information.")
    if scheme == "https":
        if not parts.hostname:
            raise InvalidRedirectURI(f"{uri!r} has no host.")
        return uri
    if scheme == "http":
        if is_loopback(parts):
            return uri
        raise InvalidRedirectURI(
            "http redirect URIs are allowed only on a loopback host (127.0.0.1, [::1], localhost); use https."
        )
    # A private-use URI scheme for a native app (RFC 8252 §7.1), e.g. com.example.app:/callback.
    if not scheme[0].isalpha() or not all(c.isalnum() or c in "+-." for c in scheme):
        raise InvalidRedirectURI(f"{uri!r} has an invalid scheme.")
    return uri


def is_loopback_host(host: str) -> bool:
    """
    ``localhost`` and its subdomains (RFC 6761 §6.3), or a loopback or unspecified address in
    any spelling a browser reads as one (``127.1``, ``0x7f000001``, ``::ffff:127.0.0.1``): names
    and addresses that reach the machine the browser runs on, not a web site.
    """
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _address(host)
    if address is None:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return any(a is not None and (a.is_loopback or a.is_unspecified) for a in (address, mapped))


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    # The shorthand IPv4 forms of inet_aton(3), which URL parsers also accept (WHATWG URL §3.5).
    if host and all(c in "0123456789abcdefx." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_application_type(uri: str, application_type: str, *, from_metadata_document: bool) -> None:
    """
    The rule of OpenID Connect Dynamic Client Registration 1.0 §2 for ``application_type`` on a
    redirect URI that :func:`validate` accepted; an empty type adds none.

    ``web``: https on a host that is not loopback or ``localhost``. ``native``: http on a
    loopback host (any port, RFC 8252 §7.3) or a private-use scheme (RFC 8252 §7.1); https
    (RFC 8252 §7.2) only for a client described by its metadata document, whose host answers
    for the app, never for one that registered itself.
    """
    parts = uris.split(uri)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if application_type == "web":
        if scheme != "https" or is_loopback_host(host):
            raise InvalidRedirectURI(
                f"{uri!r}: a web client's redirect URIs must be https on a host that is not "
                "loopback or localhost (OpenID Connect Registration section 2)."
            )
    elif application_type == "native" and scheme == "https" and not from_metadata_document:
        raise InvalidRedirectURI(
            f"{uri!r}: a native client redirects to http on a loopback host or to a "
            "private-use scheme (RFC 8252 section 7); https only through its client ID "
            "metadata document."
        )


def validate_all(uris: object, *, maximum: int) -> list[str]:
    if not isinstance(uris, list):
        raise InvalidRedirectURI("redirect_uris must be an array of strings.")
    if len(uris) > maximum:
        raise InvalidRedirectURI(f"At most {maximum} redirect URIs may be registered.")
    validated = [validate(uri) for uri in uris]
    return list(dict.fromkeys(validated))


def _without_port(uri: str) -> str | None:
    """A loopback URI exactly as written minus its port; None for any other URI."""
    match = LOOPBACK_PREFIX_RE.match(uri)
    if match is None:
        return None
    port = match.group("port")
    if port is None:
        return uri
    if not 0 < int(port) <= 65535:
        return None
    return uri[: match.start("port") - 1] + uri[match.end() :]


def matches(registered: str, requested: str) -> bool:
    """
    RFC 9700 §4.1.3 exact string match, with RFC 8252 §7.3's any-port rule for loopback URIs.

    Nothing is normalised: not the case of the scheme or host, not an empty query or a default
    port, not percent-encoding. Only a loopback URI's port is ignored, and the rest of it must
    still be the same string.
    """
    if registered == requested:
        return True
    reg, req = _without_port(registered), _without_port(requested)
    return reg is not None and reg == req


def find_match(registered: list[str], requested: str | None) -> str | None:
    """
    The redirect URI to use for a request, or None when it is not registered.

    With no ``redirect_uri`` in the request, the single registered URI is used (RFC 6749
    §3.1.2.3); with several registered one must be named.
    """
    if requested is None:
        return registered[0] if len(registered) == 1 else None
    for uri in registered:
        if matches(uri, requested):
            return requested
    return None


def with_params(uri: str, params: dict[str, str]) -> str:
    """Add response parameters to a redirect URI's query, keeping the query it has (§3.1.2)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"
