"""Discovery documents: RFC 8414 server metadata and RFC 9728 protected-resource metadata."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import Http404
from rest_framework.request import Request
from rest_framework.response import Response

from twenty_oauth.protocol import discovery
from twenty_oauth.views import inputs
from twenty_oauth.views.base import OAuthAPIView


class DiscoveryView(OAuthAPIView):
    """A public document, cached by clients for an hour."""

    http_method_names = ["get", "head", "options"]
    cors = True
    cache_headers = {"Cache-Control": "public, max-age=3600"}


class AuthorizationServerMetadataView(DiscoveryView):
    """
    ``GET /.well-known/oauth-authorization-server`` (RFC 8414 §3). An issuer with a path
    (``https://example.com/tenant``) has its document at ``/.well-known/oauth-authorization-server/tenant``
    (RFC 8414 §3.1), where clients look for it; the bare address answers as well.
    """

    def get(self, request: Request, path: str = "") -> Response:
        if path and path.strip("/") != urlsplit(inputs.site(request).issuer).path.strip("/"):
            raise Http404("No authorization server has this issuer.")
        return Response(discovery.authorization_server_document(inputs.site(request)))


class ProtectedResourceMetadataView(DiscoveryView):
    """``GET /.well-known/oauth-protected-resource[/path]`` (RFC 9728 §3)."""

    def get(self, request: Request, path: str = "") -> Response:
        return Response(discovery.protected_resource_document(inputs.site(request), path))


class OpenIDConfigurationView(DiscoveryView):
    """
    ``GET /.well-known/openid-configuration`` (OpenID Connect Discovery §4). An issuer with a
    path has it after its path (§4.1: ``/tenant/.well-known/openid-configuration``), and, as
    RFC 8414 §5 lets a server do, after the well-known prefix too
    (``/.well-known/openid-configuration/tenant``); the bare address answers as well.
    """

    def get(self, request: Request, path: str = "", prefix: str = "") -> Response:
        issuer_path = urlsplit(inputs.site(request).issuer).path.strip("/")
        named = (path or prefix).strip("/")
        if named and named != issuer_path:
            raise Http404("No OpenID provider has this issuer.")
        return Response(discovery.openid_configuration(inputs.site(request)))
