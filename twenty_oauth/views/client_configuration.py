"""
``/oauth/register/<client_id>``: the client configuration endpoint (RFC 7592 §2), where a
dynamically registered client reads (``GET``), replaces (``PUT``) and deletes (``DELETE``) its
own registration, with the registration access token its registration answer gave it (§3).
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from twenty_oauth import signals
from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidToken
from twenty_oauth.models import Client
from twenty_oauth.protocol import clients, ratelimit
from twenty_oauth.protocol.client_information import ClientInformationSerializer
from twenty_oauth.protocol.client_metadata import validate_update
from twenty_oauth.views import bearer, inputs
from twenty_oauth.views.base import OAuthAPIView
from twenty_oauth.views.parsers import ClientMetadataParser

#: The rate-limit bucket of the endpoint: ``REGISTRATION_RATE_LIMIT`` per client IP, counted
#: apart from registrations.
BUCKET = "client_configuration"


def configuration_uri(request: Request, client: Client) -> str:
    """The client's configuration endpoint (RFC 7592 §3 ``registration_client_uri``)."""
    return inputs.site(request).endpoint("client-configuration", client_id=client.client_id)


def refused() -> InvalidToken:
    """
    The one answer to a missing, wrong or spent registration access token, or to a token of
    another client than the URL names (RFC 7592 §2, RFC 6750 §3.1): whether a client exists is
    never told.
    """
    return InvalidToken(
        "The registration access token is missing or invalid.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


class ClientConfigurationView(OAuthAPIView):
    """
    RFC 7592 §2. The registration access token comes as a Bearer token (RFC 6750 §2.1). A read
    answers the client information without the secret, which is stored only as a digest; an
    update goes through registration's own rules and rotates the token; a deletion ends the
    client and every grant it held, and answers 204.
    """

    http_method_names = ["get", "put", "delete", "options"]
    parser_classes = (ClientMetadataParser,)
    cors = True
    sensitive = True

    def get(self, request: Request, client_id: str) -> Response:
        """RFC 7592 §2.1: the client information, as registration answered it, less the credentials."""
        client = self.authenticated(request, client_id)
        return Response(self.information(request, client))

    def put(self, request: Request, client_id: str) -> Response:
        """
        RFC 7592 §2.2: the body replaces the client's metadata. The answer carries a new
        registration access token, shown this once; the one presented no longer works. An
        expired secret is renewed in the same answer.
        """
        client = self.authenticated(request, client_id)
        fields = validate_update(self.body(request), client, current=self.information(request, client))
        updated = clients.update_client(client, fields, ip=inputs.client_ip(request))
        if updated is None:
            raise refused()
        body = self.information(
            request,
            updated.client,
            secret=updated.secret,
            registration_access_token=updated.registration_access_token,
        )
        return Response(body)

    def delete(self, request: Request, client_id: str) -> Response:
        """RFC 7592 §2.3: the client, its credentials and its grants end now; 204."""
        client = self.authenticated(request, client_id)
        if not clients.delete_client(client, ip=inputs.client_ip(request)):
            raise refused()
        return Response(status=204)

    def authenticated(self, request: Request, client_id: str) -> Client:
        """
        The active client that the request's registration access token belongs to, if it is the
        client the URL names. Every request counts against ``REGISTRATION_RATE_LIMIT`` per
        client IP, checked first: a guesser is held up even when a guess would be right.
        """
        ip = inputs.client_ip(request)
        rate = oauth_settings.REGISTRATION_RATE_LIMIT
        ratelimit.check(BUCKET, ip, rate)
        ratelimit.hit(BUCKET, ip, rate)
        token = bearer.token_from_header(request)
        client = clients.find_by_registration_token(token)
        if client is None or client.client_id != client_id:
            reason = "wrong registration access token" if token else "no registration access token"
            signals.client_authentication_failed.send(
                sender=Client, client_id=client_id, reason=reason, ip=ip
            )
            raise refused()
        return client

    def information(self, request: Request, client: Client, **context: Any) -> dict[str, Any]:
        """RFC 7592 §3: the client information with its ``registration_client_uri``."""
        context["registration_client_uri"] = configuration_uri(request, client)
        return ClientInformationSerializer(client, context=context).data
