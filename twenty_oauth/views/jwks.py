"""``GET /oauth/jwks``: the public keys that verify access tokens (RFC 7517 §5)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from twenty_oauth.keys import keyring
from twenty_oauth.views.base import oauth_endpoint


@oauth_endpoint("GET", "HEAD", cors=True)
def jwks(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(keyring.jwks(), content_type="application/jwk-set+json")
    # Short, so that resource servers see a new key soon after it is published.
    response["Cache-Control"] = "public, max-age=300"
    return response
