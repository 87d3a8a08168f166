"""Subject identifiers (OpenID Connect Core §8.1) and signing keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
