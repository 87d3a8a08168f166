"""Client information (RFC 7591 §3.2.1, RFC 7592 §3): what the server answers about a client."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from twenty_oauth.models import Client
from twenty_oauth.protocol.metadata_fields import URL_FIELDS, ReusedFieldsSerializer


class ClientInformationSerializer(ReusedFieldsSerializer):
    """
    RFC 7591 §3.2.1: ``client_id``, the secret this once (pass it as ``context["secret"]``), when
    it expires (0: never), when the client was issued, and every field it registered. For a
    dynamically registered client, RFC 7592 §3 adds where it manages itself
    (``context["registration_client_uri"]``) and, when one was just issued, its registration
    access token (``context["registration_access_token"]``).
    """

    client_id = serializers.CharField()
    client_secret = serializers.SerializerMethodField()
    client_secret_expires_at = serializers.SerializerMethodField()
    client_id_issued_at = serializers.SerializerMethodField()
    registration_access_token = serializers.SerializerMethodField()
    registration_client_uri = serializers.SerializerMethodField()
    client_name = serializers.CharField()
    redirect_uris = serializers.ListField(child=serializers.CharField())
    grant_types = serializers.ListField(child=serializers.CharField())
    response_types = serializers.ListField(child=serializers.CharField())
    token_endpoint_auth_method = serializers.CharField()
    application_type = serializers.CharField()
    scope = serializers.CharField()
    client_uri = serializers.CharField()
    logo_uri = serializers.CharField()
    tos_uri = serializers.CharField()
    policy_uri = serializers.CharField()
    software_id = serializers.CharField()
    software_version = serializers.CharField()
    contacts = serializers.ListField(child=serializers.CharField())
    token_endpoint_auth_signing_alg = serializers.CharField()
    jwks_uri = serializers.CharField()
    jwks = serializers.JSONField()
    dpop_bound_access_tokens = serializers.BooleanField()
    id_token_signed_response_alg = serializers.CharField()
    post_logout_redirect_uris = serializers.ListField(child=serializers.CharField())
    default_max_age = serializers.IntegerField()
    require_auth_time = serializers.BooleanField()

    #: Left out of the answer when empty: only what the client registered is listed.
    OPTIONAL = (
        "client_name",
        "application_type",
        "scope",
        *URL_FIELDS,
        "software_id",
        "software_version",
        "contacts",
        "token_endpoint_auth_signing_alg",
        "jwks_uri",
        "jwks",
        "dpop_bound_access_tokens",
        "id_token_signed_response_alg",
        "post_logout_redirect_uris",
        "default_max_age",
        "require_auth_time",
    )
    #: Given by the caller in ``context``; left out when it gives none.
    FROM_CONTEXT = ("client_secret", "registration_access_token", "registration_client_uri")

    def get_client_secret(self, client: Client) -> str | None:
        return self.context.get("secret")

    def get_registration_access_token(self, client: Client) -> str | None:
        return self.context.get("registration_access_token")

    def get_registration_client_uri(self, client: Client) -> str | None:
        return self.context.get("registration_client_uri")

    def get_client_secret_expires_at(self, client: Client) -> int:
        expires = client.client_secret_expires_at
        return int(expires.timestamp()) if expires else 0

    def get_client_id_issued_at(self, client: Client) -> int:
        return int(client.created_at.timestamp())

    def to_representation(self, client: Client) -> dict[str, Any]:
        """
        Each field's value, read straight from the client or its ``get_`` method: DRF's generic
        attribute lookup is half of this answer's cost and nothing here is nested.
        """
        body = {}
        for name, field in self.field_items:
            if isinstance(field, serializers.SerializerMethodField):
                value = getattr(self, field.method_name)(client)
                if value is None and name in self.FROM_CONTEXT:
                    continue
            else:
                raw = getattr(client, name)
                value = None if raw is None else field.to_representation(raw)
            if value or name not in self.OPTIONAL:
                body[name] = value
        if not client.uses_secret:
            # No secret, so nothing expires (RFC 7591 §3.2.1 ties the two together).
            del body["client_secret_expires_at"]
        return body
