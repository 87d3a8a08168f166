"""``POST /oauth/register``: dynamic client registration (RFC 7591 §3)."""

from __future__ import annotations

import hmac

from django.db import transaction
from rest_framework.request import Request
from rest_framework.response import Response

from twenty_oauth import signals
from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidToken, OAuthError
from twenty_oauth.models import Client
from twenty_oauth.protocol import clients, ratelimit
from twenty_oauth.protocol.client_information import ClientInformationSerializer
from twenty_oauth.protocol.client_metadata import validate_metadata
from twenty_oauth.views.base import OAuthAPIView
from twenty_oauth.views.client_configuration import configuration_uri
from twenty_oauth.views.inputs import client_ip
from twenty_oauth.views.parsers import ClientMetadataParser


class RegistrationDisabled(OAuthError):
    error = "access_denied"
    status_code = 403


class RegistrationView(OAuthAPIView):
    """
    Register a client from its JSON metadata and answer 201 with the client information,
    including a secret for a confidential client, shown this once (RFC 7591 §3.2.1), and where
    and with which token the client manages its registration (RFC 7592 §3), the token also
    shown this once.
    """

    http_method_names = ["post", "options"]
    parser_classes = (ClientMetadataParser,)
    cors = True
    sensitive = True

    def post(self, request: Request) -> Response:
        if not oauth_settings.REGISTRATION_ENABLED:
            raise RegistrationDisabled("Dynamic client registration is disabled on this server.")
        check_initial_access_token(request)
        ip = client_ip(request)
        ratelimit.check("register", ip, oauth_settings.REGISTRATION_RATE_LIMIT)
        fields = validate_metadata(self.body(request))
        ratelimit.hit("register", ip, oauth_settings.REGISTRATION_RATE_LIMIT)
        with transaction.atomic():
            client, secret, token = clients.register_client(fields)
        signals.client_registered.send(sender=Client, client=client, ip=ip)
        context = {
            "secret": secret,
            "registration_access_token": token,
            "registration_client_uri": configuration_uri(request, client),
        }
        return Response(ClientInformationSerializer(client, context=context).data, status=201)


def check_initial_access_token(request: Request) -> None:
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
