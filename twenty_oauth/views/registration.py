"""``POST /oauth/register``: dynamic client registration (RFC 7591 §3)."""

from __future__ import annotations

import hmac

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from twenty_oauth import ratelimit, registration, signals
from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidClientMetadata, InvalidToken, OAuthError
from twenty_oauth.http import client_ip, json_response, parse_json
from twenty_oauth.models import Client
from twenty_oauth.views.base import oauth_endpoint


class RegistrationDisabled(OAuthError):
    error = "access_denied"
    status_code = 403


@oauth_endpoint("POST", cors=True, sensitive=True)
def register(request: HttpRequest) -> HttpResponse:
    """
    Register a client from its JSON metadata and answer 201 with the client information,
    including a secret for a confidential client, shown this once (RFC 7591 §3.2.1).
    """
    if not oauth_settings.REGISTRATION_ENABLED:
        raise RegistrationDisabled("Dynamic client registration is disabled on this server.")
    check_initial_access_token(request)
    ip = client_ip(request)
    ratelimit.check("register", ip, oauth_settings.REGISTRATION_RATE_LIMIT)
    metadata = parse_json(request, InvalidClientMetadata)
    fields = registration.validate(metadata)
    ratelimit.hit("register", ip, oauth_settings.REGISTRATION_RATE_LIMIT)
    with transaction.atomic():
        client, secret = registration.create_client(fields, source=Client.Source.DYNAMIC)
    signals.client_registered.send(sender=Client, client=client, ip=ip)
    return json_response(registration.client_information(client, secret), status=201)


def check_initial_access_token(request: HttpRequest) -> None:
    """RFC 7591 §3: with ``REGISTRATION_INITIAL_ACCESS_TOKEN`` set, registration is closed."""
    expected = oauth_settings.REGISTRATION_INITIAL_ACCESS_TOKEN
    if not expected:
        return
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise InvalidToken(
            "An initial access token is required to register.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
