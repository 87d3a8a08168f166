"""
Client metadata (RFC 7591 §2) as a DRF serializer, and what an update may change (RFC 7592 §2.2).

:class:`ClientMetadataSerializer` is the one rule set for a client's metadata, whichever way the
client is made: dynamic registration, the Django admin's form, ``oauth_create_client`` and client
ID metadata documents all validate through it. It is strict about JSON types: a number is not
text, nothing is trimmed, and ``null`` is the same as an absent member.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from rest_framework import serializers
from rest_framework.fields import SkipField

from twenty_oauth.errors import (
    InvalidClientMetadata,
    InvalidRedirectURI,
    InvalidRequest,
    InvalidScope,
    OAuthError,
)
from twenty_oauth.models import Client
from twenty_oauth.protocol import client_keys, opaque, redirect_uris, scopes
from twenty_oauth.protocol.discovery import ASSERTION_SIGNING_ALGORITHMS, AUTH_METHODS, GRANT_TYPES
from twenty_oauth.protocol.metadata_fields import (
    MAX_STRING,
    REDIRECT_CODE,
    HttpsURLField,
    JWKSetField,
    JWKSetURLField,
    RedirectURIsField,
    ReusedFieldsSerializer,
    StrictBooleanField,
    StrictIntegerField,
    TextField,
    TextListField,
)

STRING_FIELDS = ("client_name", "software_id", "software_version")
#: OpenID Connect Core §15.1: RS256 for every relying party; ES256, the server's default.
ID_TOKEN_ALGORITHMS = ("ES256", "RS256")
MAX_CONTACTS = 10
SURROGATE_RE = re.compile("[\ud800-\udfff]")
#: RFC 7592 §2.2: members of the client information that the server alone sets.
SERVER_SET = ("registration_client_uri", "client_secret_expires_at", "client_id_issued_at")
#: RFC 7592 §2.2: credentials a client may repeat in an update, never choose.
CREDENTIALS = ("registration_access_token", "client_secret")


class ClientMetadataSerializer(ReusedFieldsSerializer):
    """
    RFC 7591 §2 client metadata, validated into the ``Client`` fields it sets. Unknown members
    are ignored (§2), and so are values a client may not choose, such as ``client_id``. A code
    client also refreshes, and its ``grant_types`` say so (see DESIGN).

    ``application_type`` (OpenID Connect Dynamic Client Registration 1.0 §2) is stored blank
    when absent, and then adds no rule. Pass ``context={"source": ...}`` with the way the
    client is made: a native client may redirect to https only when its client ID metadata
    document says so (``Client.Source.METADATA_DOCUMENT``).
    """

    # Declared in the order the checks run: the first field in error is the one reported.
    token_endpoint_auth_method = serializers.ChoiceField(
        choices=AUTH_METHODS,
        default="client_secret_basic",
        error_messages={"invalid_choice": f"Must be one of {', '.join(AUTH_METHODS)}."},
    )
    grant_types = TextListField(default=lambda: ["authorization_code"])
    response_types = TextListField()
    application_type = serializers.ChoiceField(
        choices=Client.ApplicationType.values,
        default="",
        error_messages={"invalid_choice": f"Must be one of {', '.join(Client.ApplicationType.values)}."},
    )
    redirect_uris = RedirectURIsField(default=list)
    scope = TextField(default="")
    client_name = TextField(max_length=MAX_STRING, default="")
    software_id = TextField(max_length=MAX_STRING, default="")
    software_version = TextField(max_length=MAX_STRING, default="")
    client_uri = HttpsURLField(default="")
    logo_uri = HttpsURLField(default="")
    tos_uri = HttpsURLField(default="")
    policy_uri = HttpsURLField(default="")
    contacts = TextListField(default=list)
    # private_key_jwt (RFC 7523 §2.2): the keys the client's assertions are checked with.
    token_endpoint_auth_signing_alg = serializers.ChoiceField(
        choices=ASSERTION_SIGNING_ALGORITHMS,
        required=False,
        default="",
        error_messages={
            "invalid_choice": f"Must be one of {', '.join(ASSERTION_SIGNING_ALGORITHMS)}; "
            "none and HMAC algorithms are not accepted."
        },
    )
    jwks_uri = JWKSetURLField(default="")
    jwks = JWKSetField(default=None)
    # RFC 9449 §5.2: every token request of the client must carry a DPoP proof.
    dpop_bound_access_tokens = StrictBooleanField(default=False)
    # OpenID Connect Dynamic Client Registration 1.0 §2 and RP-Initiated Logout 1.0 §3.1.
    id_token_signed_response_alg = serializers.ChoiceField(
        choices=ID_TOKEN_ALGORITHMS,
        default="",
        error_messages={"invalid_choice": f"Must be one of {', '.join(ID_TOKEN_ALGORITHMS)}."},
    )
    post_logout_redirect_uris = RedirectURIsField(default=list)
    default_max_age = StrictIntegerField(min_value=0, max_value=2**31 - 1, default=None)
    require_auth_time = StrictBooleanField(default=False)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """
        DRF's loop over the fields, with JSON's own rules first: ``null`` is an absent member,
        and an unpaired surrogate is not text (RFC 8259 §8.2) wherever it stands. The fields
        read the JSON object directly: it is never an HTML form, so DRF's form handling and
        nested sources, a tenth of a registration's time, are left out.
        """
        for name, value in data.items():
            if _has_surrogate(value):
                raise serializers.ValidationError({name: "Contains an unpaired surrogate."})
        validated: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name, field in self.field_items:
            value = data.get(name)
            try:
                value = field.get_default() if value is None else field.run_validation(value)
                check = getattr(self, f"validate_{name}", None)
                validated[name] = check(value) if check is not None else value
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
            except SkipField:
                pass
        if errors:
            raise serializers.ValidationError(errors)
        return validated

    def validate_grant_types(self, value: list[str]) -> list[str]:
        unknown = [g for g in value if g not in GRANT_TYPES]
        if unknown:
            raise serializers.ValidationError(f"Unsupported: {', '.join(unknown)}.")
        if not value:
            raise serializers.ValidationError("Must not be empty.")
        return value

    def validate_response_types(self, value: list[str]) -> list[str]:
        if any(r != "code" for r in value):
            raise serializers.ValidationError("The only supported response_type is code.")
        return value

    def validate_scope(self, value: str) -> str:
        try:
            requested = scopes.parse(value)
        except InvalidScope as exc:
            raise serializers.ValidationError("Contains invalid characters.") from exc
        unknown = [s for s in requested if s not in scopes.registry()]
        if unknown:
            raise serializers.ValidationError(f"Unknown scope: {' '.join(unknown)}.")
        return " ".join(requested)

    def validate_contacts(self, value: list[str]) -> list[str]:
        if len(value) > MAX_CONTACTS:
            raise serializers.ValidationError(f"May list at most {MAX_CONTACTS} addresses.")
        validate = EmailValidator()
        for contact in value:
            try:
                validate(contact)
            except DjangoValidationError as exc:
                raise serializers.ValidationError("Must be email addresses.") from exc
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        grant_types = attrs["grant_types"]
        code = "authorization_code" in grant_types
        response_types = attrs.setdefault("response_types", ["code"] if code else [])
        # RFC 7591 §2.1: the response types and grant types must agree.
        if ("code" in response_types) != code:
            raise serializers.ValidationError(
                {
                    "response_types": "response_types code and grant_types authorization_code go "
                    "together (RFC 7591 section 2.1)."
                }
            )
        if attrs["token_endpoint_auth_method"] == "none" and "client_credentials" in grant_types:
            raise serializers.ValidationError(
                {
                    "grant_types": "A public client (token_endpoint_auth_method none) "
                    "cannot use client_credentials."
                }
            )
        self._check_keys(attrs)
        if code and not attrs["redirect_uris"]:
            raise serializers.ValidationError(
                {"redirect_uris": serializers.ErrorDetail("Required for authorization_code.", REDIRECT_CODE)}
            )
        if attrs["application_type"]:
            self._check_application_type(attrs["application_type"], attrs["redirect_uris"])
        if code and "refresh_token" not in grant_types:
            attrs["grant_types"] = [*grant_types, "refresh_token"]
        return attrs

    def _check_application_type(self, application_type: str, registered: list[str]) -> None:
        from_document = self.context.get("source") == Client.Source.METADATA_DOCUMENT
        for uri in registered:
            try:
                redirect_uris.check_application_type(
                    uri, application_type, from_metadata_document=from_document
                )
            except OAuthError as exc:
                raise serializers.ValidationError(
                    {"redirect_uris": serializers.ErrorDetail(exc.description, REDIRECT_CODE)}
                ) from exc

    def _check_keys(self, attrs: dict[str, Any]) -> None:
        """
        RFC 7591 §2: ``jwks`` and ``jwks_uri`` never together. A ``private_key_jwt`` client
        needs one of them (RFC 7523 §2.2), with a key for its ``token_endpoint_auth_signing_alg``
        when it names one; any other client has no use for them, and they are not kept.
        """
        jwks, jwks_uri, alg = attrs["jwks"], attrs["jwks_uri"], attrs["token_endpoint_auth_signing_alg"]
        if jwks is not None and jwks_uri:
            raise serializers.ValidationError(
                {"jwks": "jwks and jwks_uri must not both be present (RFC 7591 section 2)."}
            )
        if attrs["token_endpoint_auth_method"] != "private_key_jwt":
            attrs.update(jwks=None, jwks_uri="", token_endpoint_auth_signing_alg="")
            return
        if jwks is None and not jwks_uri:
            raise serializers.ValidationError({"jwks": "private_key_jwt needs jwks or jwks_uri."})
        if alg and jwks is not None and alg not in client_keys.algorithms_of(jwks):
            raise serializers.ValidationError(
                {"jwks": f"No key in the set verifies {alg}, the token_endpoint_auth_signing_alg."}
            )


#: The ``Client`` fields that client metadata sets.
METADATA_FIELDS = tuple(ClientMetadataSerializer._declared_fields)


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return SURROGATE_RE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_surrogate(v) for v in value)


def first_error(errors: Mapping[str, Any]) -> tuple[str, serializers.ErrorDetail]:
    """The first field in error and its first message, from a serializer's ``errors``."""
    name, detail = next(iter(errors.items()))
    while isinstance(detail, list | dict):
        detail = next(iter(detail.values() if isinstance(detail, dict) else detail))
    return name, detail


def metadata_error(errors: Mapping[str, Any]) -> OAuthError:
    """
    The RFC 7591 §3.2.2 error for a serializer's ``errors``: the first message, prefixed by its
    field's name; ``invalid_redirect_uri`` for a redirect URI problem, ``invalid_client_metadata``
    for the rest.
    """
    name, detail = first_error(errors)
    error = InvalidRedirectURI if getattr(detail, "code", None) == REDIRECT_CODE else InvalidClientMetadata
    return error(str(detail) if str(detail).startswith(name) else f"{name}: {detail}")


def validate_metadata(data: Any, *, source: str = "") -> dict[str, Any]:
    """
    The ``Client`` fields ``data`` sets, or the RFC 7591 §3.2.2 error (an ``OAuthError``).
    ``source`` is how the client is made (a ``Client.Source``), when a rule depends on it.
    """
    if not isinstance(data, Mapping):
        raise InvalidClientMetadata("The body must be a JSON object of client metadata.")
    serializer = ClientMetadataSerializer(data=data, context={"source": source})
    if not serializer.is_valid():
        raise metadata_error(serializer.errors)
    return dict(serializer.validated_data)


def validate_update(data: Any, client: Client, *, current: Mapping[str, Any]) -> dict[str, Any]:
    """
    The ``Client`` fields an update at the client configuration endpoint sets (RFC 7592 §2.2),
    or its error. The body replaces the metadata under the rules of registration: a member it
    leaves out goes back to its default. It must name the client's own ``client_id``. It may
    not set what the server sets: ``current`` is the client information as a read answers it,
    and a member sent back with the value read there changes nothing and passes. It may repeat
    the client's ``client_secret`` and registration access token, never choose them. And a
    client stays public or confidential: its type decides whether it holds a secret at all.
    """
    if not isinstance(data, Mapping):
        raise InvalidClientMetadata("The body must be a JSON object of client metadata.")
    if data.get("client_id") != client.client_id:
        raise InvalidRequest("client_id is required and must be the client's own (RFC 7592 section 2.2).")
    for name in SERVER_SET:
        if data.get(name) is not None and data[name] != current.get(name):
            raise InvalidRequest(f"{name} is set by the server, not by the client (RFC 7592 section 2.2).")
    digests = {
        "registration_access_token": client.registration_access_token_digest,
        "client_secret": client.client_secret_digest,
    }
    for name in CREDENTIALS:
        value = data.get(name)
        if value is not None and not (isinstance(value, str) and opaque.matches(value, digests[name])):
            raise InvalidRequest(
                f"{name} is not the client's current one, and a client cannot choose it "
                "(RFC 7592 section 2.2)."
            )
    fields = validate_metadata(data)
    if _credential_kind(fields["token_endpoint_auth_method"]) != _credential_kind(
        client.token_endpoint_auth_method
    ):
        raise InvalidClientMetadata(
            "token_endpoint_auth_method: a client keeps its kind of credential (none, a secret, or "
            "its keys for private_key_jwt). Register a new client instead."
        )
    return fields


def _credential_kind(method: str) -> str:
    """What a client proves itself with: client_secret_basic and _post share one secret."""
    return "secret" if method.startswith("client_secret_") else method
