"""
``GET /oauth/userinfo``: the signed-in user's profile, for a token holding ``profile``; the
UserInfo endpoint of OpenID Connect Core §5.3 for a token holding ``openid``.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InsufficientScope, InvalidToken
from twenty_oauth.protocol import id_tokens, identity_claims, subjects, tokens
from twenty_oauth.views import bearer, inputs
from twenty_oauth.views.base import OAuthAPIView


class UserInfoView(OAuthAPIView):
    """
    The claims of the token's user, named as OpenID Connect Core §5.1 names them. A token
    with ``openid`` gets OpenID Connect's answer (§5.3.2): the ``sub`` of its ID tokens and the
    claims of its scopes (§5.4). A token without a user (client credentials), or with neither
    ``openid`` nor ``profile``, gets 403 ``insufficient_scope``.
    The token must be meant for this server: its audience names the issuer, the default
    resource or this endpoint, not only some other resource (RFC 8707 §2, RFC 9068 §4).
    """

    http_method_names = ["get", "post", "options"]
    cors = True
    sensitive = True

    def get(self, request: Request) -> Response:
        value = bearer.token_from_header(request)
        if not value:
            raise InvalidToken("", headers={"WWW-Authenticate": bearer.challenge(request)})
        site = inputs.site(request)
        issuer = site.issuer
        audiences = {issuer, site.default_resource, site.endpoint("userinfo")}
        try:
            verified = tokens.verify_access_token(value, issuer=issuer)
            if audiences.isdisjoint(verified.audience):
                raise tokens.TokenRejected("meant for another resource")
        except tokens.TokenRejected as exc:
            raise InvalidToken(
                "The access token is invalid.",
                headers={"WWW-Authenticate": bearer.challenge(request, error="invalid_token")},
            ) from exc
        if verified.user is not None and verified.has_scopes(id_tokens.OPENID_SCOPE):
            return Response(openid_claims(verified))
        if verified.user is None or not verified.has_scopes("profile"):
            raise InsufficientScope(
                "The profile scope is required.",
                headers={
                    "WWW-Authenticate": bearer.challenge(request, error="insufficient_scope", scope="profile")
                },
            )
        return Response(user_claims(verified.user))

    post = get


def user_claims(user) -> dict:
    claims = {
        "sub": str(user.pk),
        "name": user.get_full_name() if hasattr(user, "get_full_name") else "",
        "preferred_username": user.get_username(),
        "email": getattr(user, "email", "") or "",
    }
    hook = oauth_settings.USERINFO_CLAIMS
    if hook is not None:
        claims = hook(user, dict(claims))
    return claims


def openid_claims(verified: tokens.VerifiedToken) -> dict:
    """OpenID Connect Core §5.3.2: ``sub`` as in the ID tokens, then the claims of the token's scopes."""
    user = verified.user
    claims = identity_claims.for_scopes(user, verified.client, sorted(verified.scopes))
    return {"sub": subjects.subject_of(user), **claims}
