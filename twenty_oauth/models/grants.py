"""What a user granted and what is waiting to be redeemed: consents, authorization codes, device grants."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twenty_oauth.models.clients import Client


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
