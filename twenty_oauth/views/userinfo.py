"""
``GET /oauth/userinfo``: the signed-in user's profile, for a token holding ``profile``; the
UserInfo endpoint of OpenID Connect Core §5.3 for a token holding ``openid``.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InsufficientScope, InvalidToken, ResourceInvalidDPoPProof
from twenty_oauth.protocol import dpop, id_tokens, identity_claims, subjects, verification
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
        site = inputs.site(request)
        audiences = {site.issuer, site.default_resource, site.endpoint("userinfo")}
        try:
            verified = bearer.verify(request, audience=None, url=site.endpoint("userinfo"))
            if verified is None:
                raise InvalidToken("", headers={"WWW-Authenticate": bearer.challenges(request)})
            if audiences.isdisjoint(verified.audience):
                scheme = "dpop" if verified.jkt is not None else "bearer"
                raise bearer.Refused(scheme, "invalid_token", "The access token is invalid.")
        except bearer.Refused as refused:
            error = ResourceInvalidDPoPProof if refused.error == "invalid_dpop_proof" else InvalidToken
            raise error(
                refused.description,
                headers={"WWW-Authenticate": bearer.challenges(request, refused=refused)},
            ) from refused
        if verified.user is not None and verified.has_scopes(id_tokens.OPENID_SCOPE):
            return Response(openid_claims(verified))
        if verified.user is None or not verified.has_scopes("profile"):
            raise InsufficientScope(
                "The profile scope is required.",
                headers={"WWW-Authenticate": scope_challenge(request, verified, "profile")},
            )
        return Response(user_claims(verified.user))

    post = get


def scope_challenge(request: Request, verified, scope: str) -> str:
    """``insufficient_scope`` on the challenge of the scheme the token came with (RFC 9449 §7.1)."""
    if verified.jkt is not None:
        return dpop.challenge("insufficient_scope", scope=scope)
    return bearer.challenge(request, error="insufficient_scope", scope=scope)


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


def openid_claims(verified: verification.VerifiedToken) -> dict:
    """OpenID Connect Core §5.3.2: ``sub`` as in the ID tokens, then the claims of the token's scopes."""
    user = verified.user
    claims = identity_claims.for_scopes(user, verified.client, sorted(verified.scopes))
    return {"sub": subjects.subject_of(user), **claims}
