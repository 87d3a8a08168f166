"""``POST /oauth/introspect``: token introspection (RFC 7662)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from twenty_oauth.errors import InvalidClient, InvalidRequest
from twenty_oauth.models import Client
from twenty_oauth.protocol import tokens, verification
from twenty_oauth.views import inputs
from twenty_oauth.views.base import OAuthAPIView
from twenty_oauth.views.parsers import FormParser

INACTIVE = {"active": False}


class IntrospectionView(OAuthAPIView):
    """
    Tell an authenticated confidential client (a resource server) whether a token is live, and
    what it carries (RFC 7662 §2.2). Anything else is ``{"active": false}``, without a reason.

    Who may introspect is the server's choice (RFC 7662 §2.1), and RFC 7662 §4 asks that
    resource servers be specifically authorized: a client may learn about every token only once
    an administrator set its ``introspection_allowed`` (in the admin, or
    ``oauth_create_client --allow-introspection``). Any other confidential client learns only
    about the tokens issued to it; every other token is inactive to it, without a reason (RFC
    7662 §2.2 lets the answer depend on who asks).
    """

    http_method_names = ["post"]
    parser_classes = (FormParser,)
    endpoint = "introspection endpoint"
    query_forbidden = True
    sensitive = True

    def post(self, request: Request) -> Response:
        params = self.body(request)
        client = inputs.client(request, params)
        if client.is_public:
            raise InvalidClient("Introspection requires a confidential client.")
        value = params.get("token")
        if value is None:
            raise InvalidRequest("token is required.")
        return Response(describe(value, client, issuer=inputs.site(request).issuer))


def describe(value: str, caller: Client, *, issuer: str) -> dict[str, Any]:
    """The RFC 7662 §2.2 answer about the token ``value``, as ``caller`` may see it."""
    now = timezone.now()
    found = verification.find_access_token(value, issuer=issuer)
    if found is not None:
        record, claims = found
        if not _visible(caller, record.client) or not _live(
            record.revoked_at, record.expires_at, record.client, record.user, now
        ):
            return INACTIVE
        body = {
            k: claims[k]
            for k in ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti")
            if k in claims
        }
        # RFC 9449 §6.2: a DPoP-bound token says so, and names its key.
        jkt = verification.bound_key(claims)
        if jkt is not None:
            return {"active": True, **body, "cnf": {"jkt": jkt}, "token_type": "DPoP"}
        return {"active": True, **body, "token_type": "Bearer"}
    refresh = tokens.find_refresh_token(value)
    if refresh is None:
        return INACTIVE
    family = refresh.family
    if (
        not _visible(caller, family.client)
        or refresh.used_at is not None
        or family.revoked_at is not None
        or not _live(refresh.revoked_at, refresh.expires_at, family.client, family.user, now)
    ):
        return INACTIVE
    return {
        "active": True,
        "scope": refresh.scope,
        "client_id": family.client.client_id,
        "sub": str(family.user.pk) if family.user else family.client.client_id,
        "aud": tokens.audience_claim(family.resource) if family.resource else issuer,
        "iss": issuer,
        "exp": int(refresh.expires_at.timestamp()),
        "iat": int(refresh.created_at.timestamp()),
        "token_type": "refresh_token",
    }


def _visible(caller: Client, owner: Client) -> bool:
    """A client sees its own tokens; others' only with an administrator's leave (RFC 7662 §2.1)."""
    return caller.pk == owner.pk or caller.introspection_allowed


def _live(revoked_at, expires_at, client, user, now) -> bool:
    return revoked_at is None and expires_at > now and client.is_active and (user is None or user.is_active)
