"""
Client metadata (RFC 7591 §2): validation, and the registration answer (RFC 7591 §3.2.1).

Used by dynamic registration, Django admin and ``oauth_create_client`` alike, so that every
client obeys the same rules however it was made.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone

from twenty_oauth import redirect_uris, scopes, secrets, uris
from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidClientMetadata, InvalidRedirectURI, InvalidScope
from twenty_oauth.metadata import AUTH_METHODS, GRANT_TYPES
from twenty_oauth.models import Client

STRING_FIELDS = ("client_name", "software_id", "software_version")
URL_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
MAX_STRING = 200
MAX_URL = 2000
MAX_CONTACTS = 10


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    return isinstance(value, list) and any(_has_surrogate(v) for v in value)


def _string(metadata: dict[str, Any], name: str, maximum: int = MAX_STRING) -> str:
    value = metadata.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidClientMetadata(f"{name} must be a string.")
    if len(value) > maximum:
        raise InvalidClientMetadata(f"{name} may have at most {maximum} characters.")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise InvalidClientMetadata(f"{name} may not contain control characters.")
    return value


def _url(metadata: dict[str, Any], name: str) -> str:
    """RFC 7591 §2: client_uri, logo_uri, tos_uri and policy_uri are web pages: https only."""
    value = _string(metadata, name, MAX_URL)
    if not value:
        return ""
    parts = uris.split(value)
    if parts is None or parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise InvalidClientMetadata(f"{name} must be an https URL.")
    return value


def _string_list(metadata: dict[str, Any], name: str, default: list[str]) -> list[str]:
    value = metadata.get(name)
    if value is None:
        return list(default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidClientMetadata(f"{name} must be an array of strings.")
    return list(dict.fromkeys(value))


def _contacts(metadata: dict[str, Any]) -> list[str]:
    contacts = _string_list(metadata, "contacts", [])
    if len(contacts) > MAX_CONTACTS:
        raise InvalidClientMetadata(f"contacts may list at most {MAX_CONTACTS} addresses.")
    validate = EmailValidator()
    for contact in contacts:
        try:
            validate(contact)
        except ValidationError as exc:
            raise InvalidClientMetadata("contacts must be email addresses.") from exc
    return contacts


def validate(metadata: Any) -> dict[str, Any]:
    """
    Check client metadata and return the model fields it sets. Unknown fields are ignored
    (RFC 7591 §2); so are values the client may not choose, such as ``client_id``.
    """
    if not isinstance(metadata, dict):
        raise InvalidClientMetadata("The body must be a JSON object of client metadata.")
    for name, value in metadata.items():
        if _has_surrogate(value):
            # Not text (RFC 8259 §8.2): it could be neither stored as UTF-8 nor shown.
            raise InvalidClientMetadata(f"{name} contains an unpaired surrogate.")
    method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise InvalidClientMetadata(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}.")
    grant_types = _string_list(metadata, "grant_types", ["authorization_code"])
    unknown = [g for g in grant_types if g not in GRANT_TYPES]
    if unknown:
        raise InvalidClientMetadata(f"Unsupported grant_types: {', '.join(unknown)}.")
    if not grant_types:
        raise InvalidClientMetadata("grant_types must not be empty.")
    response_types = _string_list(
        metadata, "response_types", ["code"] if "authorization_code" in grant_types else []
    )
    if any(r != "code" for r in response_types):
        raise InvalidClientMetadata("The only supported response_type is code.")
    # RFC 7591 §2.1: the response types and grant types must agree.
    if ("code" in response_types) != ("authorization_code" in grant_types):
        raise InvalidClientMetadata(
            "response_types code and grant_types authorization_code go together (RFC 7591 section 2.1)."
        )
    if method == "none" and "client_credentials" in grant_types:
        raise InvalidClientMetadata(
            "A public client (token_endpoint_auth_method none) cannot use client_credentials."
        )
    uris = redirect_uris.validate_all(
        metadata.get("redirect_uris", []), maximum=oauth_settings.MAX_REDIRECT_URIS
    )
    if "authorization_code" in grant_types and not uris:
        raise InvalidRedirectURI("redirect_uris is required for authorization_code.")
    scope = metadata.get("scope")
    if scope is not None:
        if not isinstance(scope, str):
            raise InvalidClientMetadata("scope must be a space-separated string.")
        try:
            requested = scopes.parse(scope)
        except InvalidScope as exc:
            raise InvalidClientMetadata("scope contains invalid characters.") from exc
        unknown = [s for s in requested if s not in scopes.registry()]
        if unknown:
            raise InvalidClientMetadata(f"Unknown scope: {' '.join(unknown)}.")
        scope = " ".join(requested)
    # A code client also refreshes, and says so in its answer (see DESIGN).
    if "authorization_code" in grant_types and "refresh_token" not in grant_types:
        grant_types.append("refresh_token")
    fields = {name: _string(metadata, name) for name in STRING_FIELDS}
    fields.update({name: _url(metadata, name) for name in URL_FIELDS})
    fields.update(
        token_endpoint_auth_method=method,
        grant_types=grant_types,
        response_types=response_types,
        redirect_uris=uris,
        scope=scope or "",
        contacts=_contacts(metadata),
    )
    return fields


def create_client(fields: dict[str, Any], *, source: str) -> tuple[Client, str | None]:
    """Create a client from validated fields. Returns it and its secret, which is never stored."""
    client = Client(client_id=secrets.generate_client_id(), source=source, **fields)
    secret = None
    if not client.is_public:
        secret = secrets.generate_secret()
        client.client_secret_digest = secrets.digest(secret)
        client.client_secret_expires_at = secret_expiry(client)
    client.save()
    return client, secret


def secret_expiry(client: Client) -> datetime | None:
    """
    When a secret issued now expires (RFC 7591 §3.2.1 ``client_secret_expires_at``):
    ``CLIENT_SECRET_LIFETIME`` after issue for a dynamically registered client, else never.
    """
    lifetime = oauth_settings.CLIENT_SECRET_LIFETIME
    if lifetime and client.source == Client.Source.DYNAMIC:
        return timezone.now() + timedelta(seconds=lifetime)
    return None


def rotate_secret(client: Client) -> str:
    """
    Give a confidential client a new secret; the old one stops working at once. The new secret
    has its own lifetime: a client whose secret expired is brought back this way.
    """
    secret = secrets.generate_secret()
    client.client_secret_digest = secrets.digest(secret)
    client.client_secret_expires_at = secret_expiry(client)
    client.save(update_fields=["client_secret_digest", "client_secret_expires_at"])
    return secret


def client_information(client: Client, secret: str | None) -> dict[str, Any]:
    """RFC 7591 §3.2.1: every registered field, ``client_id``, and the secret this once."""
    body: dict[str, Any] = {"client_id": client.client_id}
    if secret is not None:
        body["client_secret"] = secret
        expires = client.client_secret_expires_at
        body["client_secret_expires_at"] = int(expires.timestamp()) if expires else 0
    body["client_id_issued_at"] = int(client.created_at.timestamp())
    if client.client_name:
        body["client_name"] = client.client_name
    body.update(
        redirect_uris=client.redirect_uris,
        grant_types=client.grant_types,
        response_types=client.response_types,
        token_endpoint_auth_method=client.token_endpoint_auth_method,
    )
    if client.scope:
        body["scope"] = client.scope
    for name in (*URL_FIELDS, "software_id", "software_version"):
        if getattr(client, name):
            body[name] = getattr(client, name)
    if client.contacts:
        body["contacts"] = client.contacts
    return body
