"""``POST /oauth/revoke``: token revocation (RFC 7009)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from twenty_oauth import client_auth, metadata, signals, tokens
from twenty_oauth.errors import InvalidRequest
from twenty_oauth.http import client_ip, json_response, parse_form
from twenty_oauth.models import AccessToken, TokenFamily
from twenty_oauth.views.base import oauth_endpoint


@oauth_endpoint("POST", cors=True, sensitive=True)
def revoke(request: HttpRequest) -> HttpResponse:
    """
    Revoke a token of the authenticated client. A refresh token ends its whole family, the
    access tokens issued from it included (RFC 7009 §2.1); an access token stops working at
    once. An unknown token, or another client's, answers 200 and changes nothing (§2.2).
    """
    if request.META.get("QUERY_STRING"):
        raise InvalidRequest("The revocation endpoint takes its parameters in the POST body only.")
    params = parse_form(request)
    client = client_auth.authenticate(request, params)
    value = params.get("token")
    if value is None:
        raise InvalidRequest("token is required.")
    # token_type_hint is only a hint (§2.1): both kinds are looked up whatever it says.
    found = tokens.find_access_token(value, issuer=metadata.issuer(request))
    if found is not None:
        record, _ = found
        if record.client_id == client.pk and record.revoked_at is None:
            AccessToken.objects.filter(pk=record.pk).update(revoked_at=timezone.now())
            _revoked(request, client, record.user, "access_token")
    else:
        refresh = tokens.find_refresh_token(value)
        if refresh is not None and refresh.family.client_id == client.pk:
            tokens.revoke_family(refresh.family_id)
            _revoked(request, client, refresh.family.user, "refresh_token")
    return json_response({})


def _revoked(request: HttpRequest, client, user, token_type: str) -> None:
    signals.token_revoked.send(
        sender=TokenFamily, client=client, user=user, token_type=token_type, ip=client_ip(request)
    )
