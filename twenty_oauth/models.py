"""
What the server remembers. No secret is stored in clear: client secrets, codes and refresh
tokens are kept as SHA-256 digests; access tokens are JWTs of which only the ``jti`` is kept,
so that they can be revoked and introspected.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
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

    class Meta:
        verbose_name = _("client")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.client_name or self.client_id

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


class Consent(models.Model):
    """A user's approval of a client for a set of scopes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    scope = models.CharField(max_length=1000)
    created_at = models.DateTimeField(_("granted"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="twenty_oauth_consent_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.client}"


class AuthorizationCode(models.Model):
    """An authorization code (RFC 6749 §4.1.2), bound to everything it was issued for."""

    code_digest = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    redirect_uri = models.TextField()
    redirect_uri_sent = models.BooleanField(default=True)
    scope = models.CharField(max_length=1000)
    resource = models.JSONField(default=list)
    code_challenge = models.CharField(max_length=43, blank=True)
    #: RFC 9449 §10: the thumbprint of the DPoP key the code is bound to, from ``dpop_jkt``.
    dpop_jkt = models.CharField(max_length=43, blank=True)
    # OpenID Connect Core §3.1.2.1, for a request with the ``openid`` scope: the ``nonce`` to
    # echo in the ID token, when the user signed in (``auth_time``) and the user's ``sub``
    # (read here so that the code exchange needs no other query). Blank otherwise.
    nonce = models.TextField(blank=True)
    auth_time = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("authorization code")

    def __str__(self) -> str:
        return f"code #{self.pk} for {self.client_id}"


class DeviceGrant(models.Model):
    """
    A device authorization (RFC 8628 §3.1-§3.5): a device holds the ``device_code`` and polls the
    token endpoint while a person, signed in on another screen, enters the ``user_code`` and
    approves or denies it.

    Both codes are kept only as SHA-256 digests. The user code has 20^8 (about 2^34.6) values,
    too few for a digest to hide it from an offline search; the digest keeps it out of sight,
    and what protects it is its short life and the limit on wrong guesses (RFC 8628 §5.1). It
    is unique among the rows that exist: ``oauth_cleanup`` deletes expired ones, so values come
    free again, and a new grant that draws a taken one draws again.

    ``user`` is set when the person approves, with ``approved_at``; ``denied_at`` when they deny.
    ``used_at`` is set by the token request that redeems it, once.
    """

    device_code_digest = models.CharField(max_length=64, unique=True)
    user_code_digest = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    scope = models.CharField(max_length=1000)
    resource = models.JSONField(default=list)
    interval = models.PositiveIntegerField(
        _("polling interval"), help_text=_("Seconds, as first told the device.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    denied_at = models.DateTimeField(_("denied"), null=True, blank=True)
    used_at = models.DateTimeField(_("redeemed"), null=True, blank=True)

    class Meta:
        verbose_name = _("device grant")

    def __str__(self) -> str:
        return f"device grant #{self.pk} for {self.client_id}"


class TokenFamily(models.Model):
    """
    Every token that descends from one authorization: the first tokens of a code or of a device
    grant and all their refreshes. Revoking the family revokes them all (RFC 9700 §4.14.2). A
    client-credentials token, which nothing descends from, has none (those issued before had a
    family of their own, which still revokes them).
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="token_families")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    scope = models.CharField(max_length=1000)
    resource = models.JSONField(default=list)
    authorization_code = models.OneToOneField(
        AuthorizationCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="family"
    )
    device_grant = models.OneToOneField(
        DeviceGrant, null=True, blank=True, on_delete=models.SET_NULL, related_name="family"
    )
    # OpenID Connect Core §12.2: a refresh of an OpenID grant returns an ID token with the same
    # ``sub`` and ``auth_time`` as the first one. Blank for a plain OAuth grant.
    subject = models.CharField(max_length=64, blank=True)
    auth_time = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("token family")
        verbose_name_plural = _("token families")

    def __str__(self) -> str:
        return f"tokens #{self.pk} of {self.client}"


class RefreshToken(models.Model):
    """An opaque refresh token, single use: a refresh spends it and issues its successor."""

    token_digest = models.CharField(max_length=64)  # unique: see Meta.constraints
    family = models.ForeignKey(TokenFamily, on_delete=models.CASCADE, related_name="refresh_tokens")
    scope = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    #: RFC 9449 §5: a public client's refresh token works only with a proof of this key.
    dpop_jkt = models.CharField(max_length=43, blank=True)

    class Meta:
        verbose_name = _("refresh token")
        constraints = [models.UniqueConstraint(fields=["token_digest"], name="twenty_oauth_rt_digest_unique")]

    def __str__(self) -> str:
        return f"refresh token #{self.pk}"


class AccessToken(models.Model):
    """
    The record of a JWT access token (RFC 9068), kept to revoke and introspect it. ``family`` is
    empty for a client-credentials token: it is a grant by itself.
    """

    jti = models.CharField(max_length=64)  # unique: see Meta.constraints
    family = models.ForeignKey(
        TokenFamily,
        on_delete=models.CASCADE,
        related_name="access_tokens",
        null=True,
        blank=True,
        db_index=False,  # see Meta.indexes
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="access_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # see Meta.indexes
    )
    scope = models.CharField(max_length=1000)
    audience = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("access token")
        # A client-credentials token has neither a family nor a user, and is never looked up by
        # either: indexing only the rows that have one spares each such token two index entries
        # (two pages written a token) and the indexes a million NULLs. A lookup by a family or a
        # user (``= %s``, ``IN``) implies NOT NULL, so both databases still use them.
        indexes = [
            models.Index(fields=["family"], name="twenty_oauth_at_family", condition=Q(family__isnull=False)),
            models.Index(fields=["user"], name="twenty_oauth_at_user", condition=Q(user__isnull=False)),
        ]
        # A constraint, not ``unique=True``: on PostgreSQL a unique CharField gets a second
        # index, ``varchar_pattern_ops`` for LIKE, which nothing here asks of a random key and
        # which cost each INSERT 100–200 µs more (a random page, written whole after each
        # checkpoint). RefreshToken.token_digest is declared the same way.
        constraints = [models.UniqueConstraint(fields=["jti"], name="twenty_oauth_at_jti_unique")]

    def __str__(self) -> str:
        return f"access token #{self.pk}"


class Subject(models.Model):
    """
    A user's OpenID Connect subject identifier (OpenID Connect Core §2, §8.1): random, assigned
    the first time the user signs in to a relying party, stable and never reused. It is not the
    database id, so it survives a move to another database or a change of ``SECRET_KEY``: keep
    this table when migrating users.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="twenty_oauth_subject"
    )
    sub = models.CharField(_("subject"), max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("OpenID subject")

    def __str__(self) -> str:
        return f"subject of {self.user}"


class SigningKey(models.Model):
    """
    A key that signs access tokens. The newest activated key signs; every key that is not
    retired is published at ``jwks_uri`` and still verifies. ``private_key`` holds the PKCS #8
    PEM encrypted with the key-encryption key (``enc:v1:...``, see
    :mod:`twenty_oauth.protocol.key_encryption`), never the PEM itself.
    """

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=8)
    private_key = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("signing key")
        ordering = ["-activated_at", "-created_at"]

    def __str__(self) -> str:
        return f"{self.algorithm} key {self.kid}"
