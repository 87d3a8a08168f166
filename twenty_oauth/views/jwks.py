"""``GET /oauth/jwks``: the public keys that verify access tokens (RFC 7517 §5)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from twenty_oauth.protocol.keys import keyring
from twenty_oauth.views.base import OAuthAPIView
from twenty_oauth.views.renderers import JWKSetRenderer


class JWKSView(OAuthAPIView):
    """The JWK Set of the keys that sign, and of those that still verify, access tokens."""

    http_method_names = ["get", "head", "options"]
    renderer_classes = (JWKSetRenderer,)
    cors = True
    # Short, so that resource servers see a new key soon after it is published.
    cache_headers = {"Cache-Control": "public, max-age=300"}

    def get(self, request: Request) -> Response:
        return Response(keyring.jwks())
