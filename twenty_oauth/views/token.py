"""``POST /oauth/token``: the token endpoint (RFC 6749 §3.2)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from twenty_oauth import client_auth, signals
from twenty_oauth.errors import InvalidRequest, UnsupportedGrantType
from twenty_oauth.grants import authorization_code, client_credentials, refresh_token
from twenty_oauth.http import client_ip, json_response, parse_form
from twenty_oauth.views.base import oauth_endpoint

GRANTS = {
    "authorization_code": authorization_code.exchange,
    "refresh_token": refresh_token.exchange,
    "client_credentials": client_credentials.exchange,
}


@oauth_endpoint("POST", cors=True, sensitive=True)
def token(request: HttpRequest) -> HttpResponse:
    """
    Exchange a grant for tokens. Parameters come only from the form body: a query string could
    leak a secret into logs (RFC 6749 §3.2, RFC 9700 §4.3). The response is never cached.
    """
    if request.META.get("QUERY_STRING"):
        raise InvalidRequest("The token endpoint takes its parameters in the POST body only.")
    params = parse_form(request)
    grant_type = params.get("grant_type")
    if grant_type is None:
        raise InvalidRequest("grant_type is required.")
    exchange = GRANTS.get(grant_type)
    if exchange is None:
        raise UnsupportedGrantType(f"Supported grant types: {', '.join(GRANTS)}.")
    client = client_auth.authenticate(request, params)
    issued = exchange(request, params, client)
    signals.tokens_issued.send(
        sender=token,
        client=client,
        user=issued.user,
        grant_type=grant_type,
        scopes=issued.scopes,
        ip=client_ip(request),
    )
    return json_response(issued.body)
