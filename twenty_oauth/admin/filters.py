"""The admin's list filters: what kind of client, and whether a token still works."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twenty_oauth.models import Client


class ClientTypeFilter(admin.SimpleListFilter):
    """RFC 6749 §2.1: public clients have no secret; confidential clients authenticate."""

    title = _("type")
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [("public", _("public")), ("confidential", _("confidential"))]

    def queryset(self, request, queryset):
        if self.value() == "public":
            return queryset.filter(token_endpoint_auth_method=Client.AuthMethod.NONE)
        if self.value() == "confidential":
            return queryset.exclude(token_endpoint_auth_method=Client.AuthMethod.NONE)
        return queryset


class TokenStatusFilter(admin.SimpleListFilter):
    """Live, expired or revoked, for any model with ``expires_at`` and ``revoked_at``."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("live", _("live")), ("expired", _("expired")), ("revoked", _("revoked"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class RevokedFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", _("active")), ("revoked", _("revoked"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset
