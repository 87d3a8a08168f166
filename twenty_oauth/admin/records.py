"""Consents, grants, tokens and keys: read-only, ended with the revoke actions."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from twenty_oauth import signals
from twenty_oauth.admin.columns import live_count, user_search_field
from twenty_oauth.admin.filters import RevokedFilter, TokenStatusFilter
from twenty_oauth.models import (
    AccessToken,
    Consent,
    DeviceGrant,
    RefreshToken,
    SigningKey,
    Subject,
    TokenFamily,
)
from twenty_oauth.protocol import consents, tokens
from twenty_oauth.views.inputs import client_ip


class ReadOnlyAdmin(admin.ModelAdmin):
    """A list to look at: rows are made by the protocol and ended by the revoke action."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        """Revoking changes a row: it takes the model's change permission, which the form never uses."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ["user", "client", "scope", "created_at", "updated_at", "revoked_at"]
    list_filter = [RevokedFilter, "client__source"]
    list_select_related = ["user", "client"]
    actions = ["revoke"]

    def get_search_fields(self, request):
        return ["client__client_name", "client__client_id", user_search_field()]

    @admin.action(description=_("Revoke selected consents and their tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        ip = client_ip(request)
        count = 0
        for consent in queryset.filter(revoked_at__isnull=True).select_related("client", "user"):
            consents.revoke_consent(consent.user, consent.client)
            signals.consent_revoked.send(sender=Consent, client=consent.client, user=consent.user, ip=ip)
            count += 1
        self.message_user(
            request,
            ngettext("Revoked %(count)d consent.", "Revoked %(count)d consents.", count) % {"count": count},
        )


@admin.register(Subject)
class SubjectAdmin(ReadOnlyAdmin):
    """Who each OpenID Connect ``sub`` is: what relying parties know a user by (Core §8.1)."""

    list_display = ["user", "sub", "created_at"]
    list_select_related = ["user"]

    def get_search_fields(self, request):
        return ["sub", user_search_field()]


@admin.register(TokenFamily)
class TokenFamilyAdmin(ReadOnlyAdmin):
    """A grant: the tokens of one authorization and all their refreshes."""

    list_display = ["pk", "client", "user", "scope", "created_at", "revoked_at", "live_tokens"]
    list_filter = [RevokedFilter]
    list_select_related = ["user", "client"]
    exclude = ["authorization_code"]
    actions = ["revoke"]

    def get_search_fields(self, request):
        return ["client__client_name", "client__client_id", user_search_field()]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_live=live_count(AccessToken, "family"))

    @admin.display(description=_("live access tokens"))
    def live_tokens(self, family: TokenFamily) -> int:
        return family._live

    @admin.action(description=_("Revoke selected grants and all their tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        count = tokens.revoke_families(queryset)
        self.message_user(
            request,
            ngettext("Revoked %(count)d grant.", "Revoked %(count)d grants.", count) % {"count": count},
        )


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
    """The record of each JWT access token; the token itself is never stored, its ``jti`` never shown."""

    list_display = ["pk", "client", "user", "scope", "created_at", "expires_at", "revoked_at"]
    list_filter = [TokenStatusFilter]
    list_select_related = ["user", "client"]
    fields = ["client", "user", "scope", "audience", "created_at", "expires_at", "revoked_at"]
    actions = ["revoke"]

    def get_search_fields(self, request):
        return ["client__client_name", "client__client_id", user_search_field()]

    @admin.action(description=_("Revoke selected access tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(
            request,
            ngettext("Revoked %(count)d access token.", "Revoked %(count)d access tokens.", count)
            % {"count": count},
        )


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdmin):
    """Refresh tokens, without their digests. Revoking one ends its grant (RFC 7009 §2.1)."""

    list_display = ["pk", "client", "user", "scope", "created_at", "expires_at", "used_at", "revoked_at"]
    list_filter = [TokenStatusFilter]
    list_select_related = ["family__user", "family__client"]
    fields = ["family", "scope", "created_at", "expires_at", "used_at", "revoked_at"]
    actions = ["revoke"]

    def get_search_fields(self, request):
        return ["family__client__client_name", "family__client__client_id", f"family__{user_search_field()}"]

    @admin.display(description=_("client"), ordering="family__client")
    def client(self, token: RefreshToken):
        return token.family.client

    @admin.display(description=_("user"), ordering="family__user")
    def user(self, token: RefreshToken):
        return token.family.user

    @admin.action(description=_("Revoke selected refresh tokens and their grants"), permissions=["revoke"])
    def revoke(self, request, queryset):
        families = TokenFamily.objects.filter(pk__in=queryset.values("family_id"))
        count = tokens.revoke_families(families)
        self.message_user(
            request,
            ngettext("Revoked %(count)d grant.", "Revoked %(count)d grants.", count) % {"count": count},
        )


@admin.register(DeviceGrant)
class DeviceGrantAdmin(ReadOnlyAdmin):
    """
    Device authorizations (RFC 8628): which device client asked, who approved or denied it, and
    when it was redeemed. Neither the device code nor the user code is shown, not even as a
    digest. The tokens a redeemed one issued are its grant, under *Grants*.
    """

    list_display = ["pk", "client", "user", "scope", "status", "created_at", "expires_at"]
    list_select_related = ["user", "client"]
    fields = [
        "client",
        "user",
        "scope",
        "resource",
        "interval",
        "created_at",
        "expires_at",
        "approved_at",
        "denied_at",
        "used_at",
    ]

    def get_search_fields(self, request):
        return ["client__client_name", "client__client_id", user_search_field()]

    @admin.display(description=_("status"))
    def status(self, grant: DeviceGrant) -> str:
        if grant.used_at is not None:
            return _("redeemed")
        if grant.denied_at is not None:
            return _("denied")
        if grant.expires_at <= timezone.now():
            return _("expired")
        if grant.approved_at is not None:
            return _("approved")
        return _("pending")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    """Keys are managed with ``manage.py oauth_keys``; the private key is never shown."""

    list_display = ["kid", "algorithm", "created_at", "activated_at", "retired_at"]
    fields = ["kid", "algorithm", "created_at", "activated_at", "retired_at"]
