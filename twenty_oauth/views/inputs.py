"""
What the web layer reads from a request and hands to the protocol as plain values: the site the
request reached, the client's address, the ``Authorization`` header and the query string.
"""

from __future__ import annotations

from django.http import HttpRequest

from twenty_oauth.errors import InvalidRequest
from twenty_oauth.models import Client
from twenty_oauth.protocol import client_auth, parameters
from twenty_oauth.protocol.discovery import Site
from twenty_oauth.protocol.parameters import Params


def site(request: HttpRequest) -> Site:
    """
    The server as ``request`` reached it (its issuer and origin, see ``Site``). With ``ISSUER``
    set the request's host is not read at all: validating it costs more than the bearer check's
    own work (measured on ``make bench``'s scenario (b)).
    """
    configured = Site.configured()
    if configured is not None:
        return configured
    origin = f"{request.scheme}://{request.get_host()}"
    return Site(issuer=origin, origin=origin)


def client_ip(request: HttpRequest) -> str:
    """The peer address. Behind a proxy, set REMOTE_ADDR from a trusted header in middleware."""
    return request.META.get("REMOTE_ADDR", "")


def authorization(request: HttpRequest) -> str:
    """The ``Authorization`` header as sent, or ''."""
    return request.META.get("HTTP_AUTHORIZATION", "")


def client(request: HttpRequest, params: dict[str, str], *, known: Client | None = None) -> Client:
    """
    The client that authenticated ``request`` with ``params`` (RFC 6749 §2.3), at the site the
    request reached (a ``private_key_jwt`` assertion's audience, RFC 7523 §3). ``known``: a
    client row this request already read (see ``client_auth.authenticate``).
    """
    return client_auth.authenticate(
        params, authorization=authorization(request), ip=client_ip(request), site=site(request), known=known
    )


def parse_query(request: HttpRequest) -> Params:
    """The query string's parameters, under the rules of :mod:`twenty_oauth.protocol.parameters`."""
    try:
        text = request.META.get("QUERY_STRING", "").encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest("The query string is not valid UTF-8.") from exc
    return parameters.parse(text)
