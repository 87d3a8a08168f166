"""``POST /oauth/token``: the token endpoint (RFC 6749 §3.2)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from twenty_oauth import signals
from twenty_oauth.errors import InvalidRequest, UnsupportedGrantType
from twenty_oauth.protocol import dpop
from twenty_oauth.protocol.discovery import DEVICE_CODE_GRANT
from twenty_oauth.protocol.grants import authorization_code, client_credentials, device_code, refresh_token
from twenty_oauth.views import inputs
from twenty_oauth.views.base import OAuthAPIView
from twenty_oauth.views.parsers import FormParser

GRANTS = {
    "authorization_code": authorization_code,
    "refresh_token": refresh_token,
    "client_credentials": client_credentials,
    DEVICE_CODE_GRANT: device_code,
}


class TokenView(OAuthAPIView):
    """
    Exchange a grant for tokens. Parameters come only from the form body: a query string could
    leak a secret into logs (RFC 6749 §3.2, RFC 9700 §4.3). The response is never cached.

    The checks run in RFC 6749's order of precedence: the grant type, then the client's
    authentication (§2.3), then the ``DPoP`` proof, if any (RFC 9449 §5), then the grant's own
    parameters. The grant presented is read first, with its client, so that authenticating that
    client reads nothing more (see :mod:`twenty_oauth.protocol.grants`).
    """

    http_method_names = ["post", "options"]
    parser_classes = (FormParser,)
    endpoint = "token endpoint"
    cors = True
    query_forbidden = True
    sensitive = True

    def post(self, request: Request) -> Response:
        params = self.body(request)
        grant_type = params.get("grant_type")
        if grant_type is None:
            raise InvalidRequest("grant_type is required.")
        grant = GRANTS.get(grant_type)
        if grant is None:
            raise UnsupportedGrantType(f"Supported grant types: {', '.join(GRANTS)}.")
        ip = inputs.client_ip(request)
        presented = grant.find(params)
        client = inputs.client(request, params, known=presented.client)
        site = inputs.site(request)
        jkt = dpop.token_request_key(request.META.get("HTTP_DPOP"), client, site=site)
        issued = grant.exchange(params, client, presented, site=site, ip=ip, jkt=jkt)
        signals.tokens_issued.send(
            sender=TokenView,
            client=client,
            user=issued.user,
            grant_type=grant_type,
            scopes=issued.scopes,
            ip=ip,
        )
        return Response(issued.body, headers=dpop.nonce_headers())
