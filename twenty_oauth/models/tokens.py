"""Token families, refresh tokens and the records of access tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twenty_oauth.models.clients import Client
from twenty_oauth.models.grants import AuthorizationCode, DeviceGrant


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
    # The grant the family came from: one of the two, or neither. Each is unique where it is set
    # (see Meta.constraints).
    authorization_code = models.ForeignKey(
        AuthorizationCode,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    device_grant = models.ForeignKey(
        DeviceGrant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
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
        # One family at most for a code or a device grant, as a one-to-one link would say, with
        # only the rows that have one in each index: a family comes from one grant or the other,
        # and a unique index over every row held a NULL for the other in each (a page written
        # with every code exchange). A lookup by either (``= %s``, ``IN``) implies NOT NULL.
        constraints = [
            models.UniqueConstraint(
                fields=["authorization_code"],
                condition=Q(authorization_code__isnull=False),
                name="twenty_oauth_family_code_unique",
            ),
            models.UniqueConstraint(
                fields=["device_grant"],
                condition=Q(device_grant__isnull=False),
                name="twenty_oauth_family_device_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"tokens #{self.pk} of {self.client}"


class RefreshToken(models.Model):
    """An opaque refresh token, single use: a refresh spends it and issues its successor."""

    token_digest = models.CharField(max_length=64)  # unique: see Meta.constraints
    family = models.ForeignKey(TokenFamily, on_delete=models.CASCADE, related_name="refresh_tokens")
    scope = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()  # not indexed: see AccessToken.expires_at
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
    # Not indexed: only cleanup looks rows up by expiry, and it walks the primary key, where
    # tokens lie in the order they were issued, so the expired ones come first
    # (twenty_oauth/cleanup.py). An index would be one more page written with every token,
    # on the token endpoint's path, for a query that runs only when cleanup does.
    expires_at = models.DateTimeField()
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
