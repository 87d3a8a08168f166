"""
OpenAPI descriptions of the endpoints for drf-spectacular, loaded only where the host installs it
(``apps.TwentyOAuthConfig.ready``): the request bodies, answers and error bodies that RFC 6749,
RFC 7009, RFC 7591, RFC 7592, RFC 7662, RFC 8414, RFC 8628 and RFC 9728 define, so that the
host's schema shows the OAuth endpoints beside its own API. Nothing here runs on a request.
"""

from __future__ import annotations

import functools

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from twenty_oauth.protocol.client_information import ClientInformationSerializer
from twenty_oauth.protocol.client_metadata import ClientMetadataSerializer
from twenty_oauth.protocol.discovery import GRANT_TYPES

FORM = "application/x-www-form-urlencoded"
TAG = "OAuth 2.0"

OAuthError = inline_serializer(
    "OAuthError",
    {
        "error": serializers.CharField(help_text="The RFC error code, e.g. invalid_request (RFC 6749 §5.2)."),
        "error_description": serializers.CharField(required=False, help_text="For the developer."),
    },
)
ClientAuthentication = {
    "client_id": serializers.CharField(
        required=False, help_text="client_secret_post or none (RFC 6749 §2.3.1)."
    ),
    "client_secret": serializers.CharField(required=False, help_text="client_secret_post."),
    "client_assertion_type": serializers.ChoiceField(
        ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
        required=False,
        help_text="private_key_jwt (RFC 7521 §4.2).",
    ),
    "client_assertion": serializers.CharField(
        required=False, help_text="private_key_jwt: a JWT signed by the client's key (RFC 7523 §2.2)."
    ),
}
TokenRequest = inline_serializer(
    "TokenRequest",
    {
        "grant_type": serializers.ChoiceField(GRANT_TYPES),
        "code": serializers.CharField(required=False, help_text="authorization_code (RFC 6749 §4.1.3)."),
        "device_code": serializers.CharField(
            required=False, help_text="urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4)."
        ),
        "redirect_uri": serializers.CharField(required=False, help_text="As in the authorization request."),
        "code_verifier": serializers.CharField(required=False, help_text="PKCE (RFC 7636 §4.5)."),
        "refresh_token": serializers.CharField(required=False, help_text="refresh_token (RFC 6749 §6)."),
        "scope": serializers.CharField(required=False, help_text="Space-separated (RFC 6749 §3.3)."),
        "resource": serializers.ListField(
            child=serializers.URLField(), required=False, help_text="Resource indicators (RFC 8707 §2)."
        ),
        **ClientAuthentication,
    },
)
TokenResponse = inline_serializer(
    "TokenResponse",
    {
        "access_token": serializers.CharField(help_text="A JWT (RFC 9068)."),
        "token_type": serializers.CharField(help_text="Bearer, or DPoP for a token bound to a DPoP key"),
        "expires_in": serializers.IntegerField(),
        "refresh_token": serializers.CharField(required=False),
        "scope": serializers.CharField(),
    },
)
DeviceAuthorizationRequest = inline_serializer(
    "DeviceAuthorizationRequest",
    {
        "scope": serializers.CharField(required=False, help_text="Space-separated (RFC 6749 §3.3)."),
        "resource": serializers.ListField(
            child=serializers.URLField(), required=False, help_text="Resource indicators (RFC 8707 §2)."
        ),
        **ClientAuthentication,
    },
)
DeviceAuthorizationResponse = inline_serializer(
    "DeviceAuthorizationResponse",
    {
        "device_code": serializers.CharField(help_text="The device polls the token endpoint with it."),
        "user_code": serializers.CharField(help_text="Shown to the person: XXXX-XXXX (RFC 8628 §6.1)."),
        "verification_uri": serializers.URLField(help_text="Where the person types the user code."),
        "verification_uri_complete": serializers.URLField(help_text="The same, the code filled in."),
        "expires_in": serializers.IntegerField(),
        "interval": serializers.IntegerField(help_text="Seconds between polls."),
    },
)
TokenOperation = inline_serializer(
    "TokenOperation",
    {
        "token": serializers.CharField(),
        "token_type_hint": serializers.ChoiceField(["access_token", "refresh_token"], required=False),
        **ClientAuthentication,
    },
)
Introspection = inline_serializer(
    "Introspection",
    {
        "active": serializers.BooleanField(),
        "scope": serializers.CharField(required=False),
        "client_id": serializers.CharField(required=False),
        "sub": serializers.CharField(required=False),
        "aud": serializers.JSONField(required=False),
        "iss": serializers.CharField(required=False),
        "exp": serializers.IntegerField(required=False),
        "iat": serializers.IntegerField(required=False),
        "jti": serializers.CharField(required=False),
        "token_type": serializers.CharField(required=False),
        "cnf": serializers.JSONField(required=False),
    },
)
UserInfo = inline_serializer(
    "UserInfo",
    {
        "sub": serializers.CharField(),
        "name": serializers.CharField(),
        "preferred_username": serializers.CharField(),
        "email": serializers.CharField(),
    },
)
JWKSet = inline_serializer("JWKSet", {"keys": serializers.ListField(child=serializers.JSONField())})
_url = serializers.URLField


def _names() -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField())


def _server_metadata_fields() -> dict[str, serializers.Field]:
    return {
        "issuer": _url(),
        **{
            f"{name}_endpoint": _url()
            for name in (
                "authorization",
                "token",
                "registration",
                "revocation",
                "introspection",
                "userinfo",
                "device_authorization",
            )
        },
        "jwks_uri": _url(),
        **{
            f"{name}_supported": _names()
            for name in (
                "scopes",
                "response_types",
                "response_modes",
                "grant_types",
                "token_endpoint_auth_methods",
                "revocation_endpoint_auth_methods",
                "introspection_endpoint_auth_methods",
                "code_challenge_methods",
                "token_endpoint_auth_signing_alg_values",
                "revocation_endpoint_auth_signing_alg_values",
                "introspection_endpoint_auth_signing_alg_values",
                "dpop_signing_alg_values",
            )
        },
        "authorization_response_iss_parameter_supported": serializers.BooleanField(),
        "client_id_metadata_document_supported": serializers.BooleanField(),
    }


ServerMetadata = inline_serializer("AuthorizationServerMetadata", _server_metadata_fields())
OpenIDConfiguration = inline_serializer(
    "OpenIDProviderMetadata",
    {
        **_server_metadata_fields(),
        "end_session_endpoint": _url(),
        **{
            f"{name}_supported": _names()
            for name in ("subject_types", "id_token_signing_alg_values", "claims", "prompt_values")
        },
        **{
            f"{name}_supported": serializers.BooleanField()
            for name in ("claims_parameter", "request_parameter", "request_uri_parameter")
        },
    },
)
ResourceMetadata = inline_serializer(
    "ProtectedResourceMetadata",
    {
        "resource": _url(),
        "authorization_servers": serializers.ListField(child=_url()),
        "scopes_supported": _names(),
        "bearer_methods_supported": _names(),
        "jwks_uri": _url(),
        "dpop_signing_alg_values_supported": _names(),
        "dpop_bound_access_tokens_required": serializers.BooleanField(required=False),
    },
)
ERRORS = {400: OAuthError, 401: OAuthError, 429: OAuthError}


class AtTheHostsRoot(AutoSchema):
    """
    A discovery document is described once, where RFC 8414 §3.1 and RFC 9728 §3.1 put it: on the
    host's root. The copy that ``twenty_oauth.urls`` also serves under a prefix is left out, so
    the schema does not advertise it and no two operations share an id.
    """

    def is_excluded(self) -> bool:
        return not self.path.startswith("/.well-known/") or super().is_excluded()


def _described(
    target: str,
    methods: tuple[str, ...] | dict[str, dict],
    base_schema: type[AutoSchema] | None = None,
    **schema,
) -> type[OpenApiViewExtension]:
    """
    An extension that annotates ``methods`` of the view class at ``target`` with ``schema``:
    a tuple of method names, or a mapping of each name to what it adds to ``schema``.
    """
    per_method = methods if isinstance(methods, dict) else dict.fromkeys(methods, {})

    def annotate(function, extra: dict):
        if base_schema is not None:
            # extend_schema builds on a method's own ``schema``; a copy keeps the view's untouched.
            original = function

            @functools.wraps(original)
            def function(view, *args, **kwargs):
                return original(view, *args, **kwargs)

            function.schema = base_schema
        return extend_schema(tags=[TAG], **schema, **extra)(function)

    class Extension(OpenApiViewExtension):
        target_class = target

        def view_replacement(self):
            view = self.target_class
            annotated = {m: annotate(getattr(view, m), extra) for m, extra in per_method.items()}
            return type(view.__name__, (view,), annotated)

    return Extension


TokenSchema = _described(
    "twenty_oauth.views.token.TokenView",
    ("post",),
    operation_id="oauth_token",
    summary="Token endpoint (RFC 6749 §3.2)",
    request={FORM: TokenRequest},
    responses={200: TokenResponse, **ERRORS},
)
DeviceAuthorizationSchema = _described(
    "twenty_oauth.views.device_authorization.DeviceAuthorizationView",
    ("post",),
    operation_id="oauth_device_authorization",
    summary="Device authorization endpoint (RFC 8628 §3.1)",
    request={FORM: DeviceAuthorizationRequest},
    responses={200: DeviceAuthorizationResponse, **ERRORS},
)
RevocationSchema = _described(
    "twenty_oauth.views.revocation.RevocationView",
    ("post",),
    operation_id="oauth_revoke",
    summary="Token revocation (RFC 7009)",
    request={FORM: TokenOperation},
    responses={200: inline_serializer("Revoked", {}), **ERRORS},
)
IntrospectionSchema = _described(
    "twenty_oauth.views.introspection.IntrospectionView",
    ("post",),
    operation_id="oauth_introspect",
    summary="Token introspection (RFC 7662)",
    request={FORM: TokenOperation},
    responses={200: Introspection, **ERRORS},
)
RegistrationSchema = _described(
    "twenty_oauth.views.registration.RegistrationView",
    ("post",),
    operation_id="oauth_register",
    summary="Dynamic client registration (RFC 7591)",
    request={"application/json": ClientMetadataSerializer},
    responses={
        201: ClientInformationSerializer,
        400: OAuthError,
        401: OAuthError,
        403: OAuthError,
        429: OAuthError,
    },
)


class ClientUpdate(ClientMetadataSerializer):
    """RFC 7592 §2.2: the client's metadata in full, with its own ``client_id``."""

    client_id = serializers.CharField(help_text="The client's own client_id.")
    client_secret = serializers.CharField(
        required=False, help_text="If sent, the client's current secret: a client cannot choose it."
    )


ClientConfigurationSchema = _described(
    "twenty_oauth.views.client_configuration.ClientConfigurationView",
    {
        "get": {
            "operation_id": "oauth_client_read",
            "summary": "Read a client's registration (RFC 7592 §2.1)",
            "request": None,
            "responses": {200: ClientInformationSerializer, 401: OAuthError, 429: OAuthError},
        },
        "put": {
            "operation_id": "oauth_client_update",
            "summary": "Replace a client's metadata (RFC 7592 §2.2)",
            "request": {"application/json": ClientUpdate},
            "responses": {200: ClientInformationSerializer, **ERRORS},
        },
        "delete": {
            "operation_id": "oauth_client_delete",
            "summary": "Delete a client and end its grants (RFC 7592 §2.3)",
            "request": None,
            "responses": {204: None, 401: OAuthError, 429: OAuthError},
        },
    },
    parameters=[
        OpenApiParameter(
            "client_id", str, OpenApiParameter.PATH, description="The client_id of the registration answer."
        )
    ],
    description="The client configuration endpoint, registration_client_uri in the registration answer. "
    "Requests carry the registration access token of that answer (or of the last update) as "
    "`Authorization: Bearer <token>` (RFC 6750 §2.1); without it, or with another, 401.",
)
UserInfoSchema = _described(
    "twenty_oauth.views.userinfo.UserInfoView",
    ("get", "post"),
    summary="The token's user (OpenID Connect Core §5.3)",
    request=None,
    responses={200: UserInfo, 401: OAuthError, 403: OAuthError},
)
JWKSSchema = _described(
    "twenty_oauth.views.jwks.JWKSView",
    ("get",),
    operation_id="oauth_jwks",
    summary="Public signing keys (RFC 7517 §5)",
    responses={(200, "application/jwk-set+json"): JWKSet},
)
ServerMetadataSchema = _described(
    "twenty_oauth.views.metadata.AuthorizationServerMetadataView",
    ("get",),
    operation_id="oauth_authorization_server_metadata",
    base_schema=AtTheHostsRoot,
    summary="Authorization server metadata (RFC 8414 §3)",
    responses={200: ServerMetadata},
)
OpenIDConfigurationSchema = _described(
    "twenty_oauth.views.metadata.OpenIDConfigurationView",
    ("get",),
    operation_id="openid_configuration",
    base_schema=AtTheHostsRoot,
    summary="OpenID provider metadata (OpenID Connect Discovery §3-4)",
    responses={200: OpenIDConfiguration},
)
ResourceMetadataSchema = _described(
    "twenty_oauth.views.metadata.ProtectedResourceMetadataView",
    ("get",),
    operation_id="oauth_protected_resource_metadata",
    base_schema=AtTheHostsRoot,
    summary="Protected resource metadata (RFC 9728 §3)",
    responses={200: ResourceMetadata},
)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """``BearerTokenAuthentication`` on the host's own views: a Bearer JWT (RFC 6750, RFC 9068)."""

    target_class = "twenty_oauth.drf.BearerTokenAuthentication"
    name = "oauth2BearerToken"
    match_subclasses = True

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
