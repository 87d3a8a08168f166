"""``POST /oauth/revoke``: token revocation (RFC 7009)."""

from __future__ import annotations

from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from twenty_oauth import signals
from twenty_oauth.errors import InvalidRequest
from twenty_oauth.models import AccessToken, TokenFamily
from twenty_oauth.protocol import tokens, verification
from twenty_oauth.views import inputs
from twenty_oauth.views.base import OAuthAPIView
from twenty_oauth.views.parsers import FormParser


class RevocationView(OAuthAPIView):
    """
    Revoke a token of the authenticated client. A refresh token ends its whole family, the
    access tokens issued from it included (RFC 7009 §2.1); an access token stops working at
    once. An unknown token, or another client's, answers 200 and changes nothing (§2.2).
    """

    http_method_names = ["post", "options"]
    parser_classes = (FormParser,)
    endpoint = "revocation endpoint"
    cors = True
    query_forbidden = True
    sensitive = True

    def post(self, request: Request) -> Response:
        params = self.body(request)
        ip = inputs.client_ip(request)
        client = inputs.client(request, params)
        value = params.get("token")
        if value is None:
            raise InvalidRequest("token is required.")
        # token_type_hint is only a hint (§2.1): both kinds are looked up whatever it says.
        found = verification.find_access_token(value, issuer=inputs.site(request).issuer)
        if found is not None:
            record, _ = found
            if record.client_id == client.pk and record.revoked_at is None:
                AccessToken.objects.filter(pk=record.pk).update(revoked_at=timezone.now())
                self.revoked(client, record.user, "access_token", ip)
        else:
            refresh = tokens.find_own_refresh_token(value, client)
            if refresh is not None:
                tokens.revoke_family(refresh.family_id)
                self.revoked(client, refresh.family.user, "refresh_token", ip)
        return Response({})

    def revoked(self, client, user, token_type: str, ip: str) -> None:
        signals.token_revoked.send(sender=TokenFamily, client=client, user=user, token_type=token_type, ip=ip)
