"""The clients: who may ask for tokens, and how they authenticate (RFC 7591, RFC 6749 §2)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Client(models.Model):
    """An OAuth client (RFC 6749 §2), with its RFC 7591 §2 metadata."""

    class AuthMethod(models.TextChoices):
        NONE = "none", _("none (public client)")
        CLIENT_SECRET_BASIC = "client_secret_basic", _("client_secret_basic")
        CLIENT_SECRET_POST = "client_secret_post", _("client_secret_post")
        PRIVATE_KEY_JWT = "private_key_jwt", _("private_key_jwt (a JWT signed by the client's key)")

    class Source(models.TextChoices):
        ADMIN = "admin", _("Django admin")
        DYNAMIC = "dynamic", _("dynamic registration")
        METADATA_DOCUMENT = "metadata_document", _("client ID metadata document")
        COMMAND = "command", _("management command")

    class ApplicationType(models.TextChoices):
        """OpenID Connect Dynamic Client Registration 1.0 §2 ``application_type``."""

        WEB = "web", _("web")
        NATIVE = "native", _("native")

    client_id = models.CharField(_("client ID"), max_length=500, unique=True)
    client_secret_digest = models.CharField(max_length=64, blank=True, editable=False)
    client_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # RFC 7592 §3: the credential of the client configuration endpoint, for dynamically
    # registered clients only; empty when there is none. Looked up by digest, never shown.
    registration_access_token_digest = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False
    )
    client_name = models.CharField(_("name"), max_length=200, blank=True)
    redirect_uris = models.JSONField(_("redirect URIs"), default=list, blank=True)
    grant_types = models.JSONField(_("grant types"), default=list, blank=True)
    response_types = models.JSONField(_("response types"), default=list, blank=True)
    token_endpoint_auth_method = models.CharField(
        _("token endpoint auth method"),
        max_length=32,
        choices=AuthMethod.choices,
        default=AuthMethod.CLIENT_SECRET_BASIC,
    )
    # RFC 7591 §2, for private_key_jwt (RFC 7523 §2.2): the client's public keys, inline or at a
    # URL, and the one algorithm its assertions must use (blank: any this server accepts).
    jwks = models.JSONField(_("JWK Set"), null=True, blank=True)
    jwks_uri = models.CharField(_("JWK Set URL"), max_length=500, blank=True)
    token_endpoint_auth_signing_alg = models.CharField(
        _("assertion signing algorithm"), max_length=16, blank=True
    )
    scope = models.CharField(
        _("scope"), max_length=1000, blank=True, help_text=_("Space-separated; blank allows every scope.")
    )
    # Text, checked by protocol.client_metadata (https, a host, RFC 3986): Django's URLValidator is
    # stricter (it refuses https://my_host.example/), so a registered client could not be saved.
    client_uri = models.CharField(_("home page"), max_length=2000, blank=True)
    logo_uri = models.CharField(_("logo"), max_length=2000, blank=True)
    tos_uri = models.CharField(_("terms of service"), max_length=2000, blank=True)
    policy_uri = models.CharField(_("privacy policy"), max_length=2000, blank=True)
    contacts = models.JSONField(_("contacts"), default=list, blank=True)
    software_id = models.CharField(max_length=200, blank=True)
    software_version = models.CharField(max_length=200, blank=True)
    application_type = models.CharField(
        _("application type"),
        max_length=16,
        choices=ApplicationType.choices,
        blank=True,
        help_text=_(
            "web: https redirect URIs on a host that is not loopback; native: loopback http or a "
            "private-use scheme. Blank: not given, either kind of redirect URI."
        ),
    )
    # OpenID Connect Dynamic Client Registration 1.0 §2 and RP-Initiated Logout 1.0 §3.1.
    id_token_signed_response_alg = models.CharField(
        _("ID token signing algorithm"),
        max_length=8,
        blank=True,
        help_text=_("ES256 or RS256; blank: ES256."),
    )
    post_logout_redirect_uris = models.JSONField(_("post-logout redirect URIs"), default=list, blank=True)
    default_max_age = models.PositiveIntegerField(_("default max_age"), null=True, blank=True)
    require_auth_time = models.BooleanField(_("require auth_time"), default=False)
    source = models.CharField(
        _("registered through"), max_length=32, choices=Source.choices, default=Source.ADMIN
    )
    client_credentials_allowed = models.BooleanField(
        _("client credentials allowed"),
        default=False,
        help_text=_("A self-registered client may use client_credentials only once this is set."),
    )
    introspection_allowed = models.BooleanField(
        _("introspection allowed"),
        default=False,
        help_text=_(
            "A confidential client (a resource server) may introspect every token only once this is "
            "set; otherwise it learns only about its own tokens."
        ),
    )
    dpop_bound_access_tokens = models.BooleanField(
        _("DPoP-bound access tokens"),
        default=False,
        help_text=_("RFC 9449 §5.2: every token request of this client must carry a DPoP proof."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    #: Registration metadata (RFC 7591 §2) that only pages, the authorization and logout
    #: endpoints and client management read. A client authenticating at the token, revocation or
    #: introspection endpoint is read without it (deferred: a field loads by a query of its own
    #: if read): five JSON columns to decode and a few long strings, 5 % of a client-credentials
    #: request's instructions (``make bench``'s database, SQLite). A field added later is read.
    REGISTRATION_METADATA = frozenset(
        {
            "redirect_uris",
            "response_types",
            "post_logout_redirect_uris",
            "contacts",
            "client_uri",
            "logo_uri",
            "tos_uri",
            "policy_uri",
            "software_id",
            "software_version",
            "registration_access_token_digest",
            "created_at",
        }
    )

    class Meta:
        verbose_name = _("client")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.client_name or self.client_id

    @classmethod
    def authentication_fields(cls, prefix: str = "") -> tuple[str, ...]:
        """
        The fields a client that authenticates is read with, for ``only``: every concrete field
        but ``REGISTRATION_METADATA``, each after ``prefix`` (the path from a row it is joined
        to, ``"client__"``).
        """
        return tuple(
            prefix + field.name
            for field in cls._meta.concrete_fields
            if field.name not in cls.REGISTRATION_METADATA
        )

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == self.AuthMethod.NONE

    @property
    def has_registration_access_token(self) -> bool:
        """Whether the client may manage itself at its configuration endpoint (RFC 7592)."""
        return bool(self.registration_access_token_digest)

    @property
    def uses_secret(self) -> bool:
        """Authenticates with a client secret (RFC 6749 §2.3.1), which the server issues."""
        return self.token_endpoint_auth_method in (
            self.AuthMethod.CLIENT_SECRET_BASIC,
            self.AuthMethod.CLIENT_SECRET_POST,
        )

    @property
    def made_by_staff(self) -> bool:
        """Created in the admin or by ``oauth_create_client``, not by whoever could reach the server."""
        return self.source in (self.Source.ADMIN, self.Source.COMMAND)

    @property
    def may_use_client_credentials(self) -> bool:
        """
        A confidential client (a secret or private_key_jwt) registered for the grant. One that
        registered itself may use it only once an admin allows it: open registration must not
        hand out userless tokens.
        """
        from twenty_oauth.conf import oauth_settings

        if self.is_public or "client_credentials" not in self.grant_types:
            return False
        if self.made_by_staff:
            return True
        return (
            self.client_credentials_allowed or oauth_settings.ALLOW_CLIENT_CREDENTIALS_FOR_REGISTERED_CLIENTS
        )

    def can_use_grant(self, grant_type: str) -> bool:
        """
        Whether the client registered for ``grant_type``: ``authorization_code``, ``refresh_token``,
        ``client_credentials`` or the device grant's URN (RFC 8628 §3.4). A client registered for
        ``authorization_code`` may also refresh (see DESIGN); a device client refreshes only when
        it registered ``refresh_token`` as well.
        """
        grants = set(self.grant_types)
        if grant_type == "refresh_token":
            return "refresh_token" in grants or "authorization_code" in grants
        return grant_type in grants
