"""Discovery documents: RFC 8414 server metadata and RFC 9728 protected-resource metadata."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import Http404, HttpRequest, HttpResponse

from twenty_oauth import metadata
from twenty_oauth.views.base import oauth_endpoint


def _document(body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@oauth_endpoint("GET", "HEAD", cors=True)
def authorization_server(request: HttpRequest, path: str = "") -> HttpResponse:
    """
    ``GET /.well-known/oauth-authorization-server`` (RFC 8414 §3). An issuer with a path
    (``https://example.com/tenant``) has its document at ``/.well-known/oauth-authorization-server/tenant``
    (RFC 8414 §3.1), where clients look for it; the bare address answers as well.
    """
    if path and path.strip("/") != urlsplit(metadata.issuer(request)).path.strip("/"):
        raise Http404("No authorization server has this issuer.")
    return _document(metadata.authorization_server_document(request))


@oauth_endpoint("GET", "HEAD", cors=True)
def protected_resource(request: HttpRequest, path: str = "") -> HttpResponse:
    """``GET /.well-known/oauth-protected-resource[/path]`` (RFC 9728 §3)."""
    return _document(metadata.protected_resource_document(request, path))
