"""
Django admin for clients, consents and tokens.

No secret or token is ever displayed, not even as a digest: a new client secret is shown once,
on the page that follows its creation or rotation, and is stored nowhere but as its digest.
Consents, grants and tokens are read-only; staff end them with the revoke actions.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from twenty_oauth import signals
from twenty_oauth.admin_filters import ClientTypeFilter, RevokedFilter, TokenStatusFilter
from twenty_oauth.forms import ClientForm
from twenty_oauth.models import (
    AccessToken,
    Client,
    Consent,
    DeviceGrant,
    RefreshToken,
    SigningKey,
    Subject,
    TokenFamily,
)
from twenty_oauth.protocol import clients, consents, opaque, tokens
from twenty_oauth.views.inputs import client_ip


def _user_search_field() -> str:
    return f"user__{get_user_model().USERNAME_FIELD}"


def _live_count(model, client_field: str, **extra) -> Coalesce:
    """A correlated COUNT of a client's live tokens: computed only for the rows on the page."""
    rows = (
        model.objects.filter(
            **{client_field: OuterRef("pk")},
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
            **extra,
        )
        .order_by()
        .values(client_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    form = ClientForm
    list_display = [
        "__str__",
        "client_id",
        "client_type",
        "grant_types_display",
        "source",
        "created_at",
        "last_used",
        "active_tokens",
        "is_active",
    ]
    list_filter = [
        ClientTypeFilter,
        "application_type",
        "source",
        "is_active",
        "client_credentials_allowed",
        "introspection_allowed",
    ]
    search_fields = ["client_name", "client_id"]
    readonly_fields = [
        "client_id",
        "source",
        "created_at",
        "last_used_at",
        "client_secret_expires_at",
        "registration_access_token",
    ]
    fieldsets = [
        (None, {"fields": ["client_name", "client_id", "is_active"]}),
        (
            _("Protocol"),
            {
                "fields": [
                    "token_endpoint_auth_method",
                    "application_type",
                    "jwks_text",
                    "jwks_uri",
                    "token_endpoint_auth_signing_alg",
                    "grant_types_choice",
                    "redirect_uris_text",
                    "scope",
                    "dpop_bound_access_tokens",
                    "client_credentials_allowed",
                    "introspection_allowed",
                ]
            },
        ),
        (
            _("OpenID Connect"),
            {
                "fields": [
                    "id_token_signed_response_alg",
                    "post_logout_redirect_uris_text",
                    "default_max_age",
                    "require_auth_time",
                ]
            },
        ),
        (
            _("Shown on the consent page"),
            {"fields": ["client_uri", "logo_uri", "tos_uri", "policy_uri", "contacts_text"]},
        ),
        (
            _("History"),
            {
                "fields": [
                    "source",
                    "created_at",
                    "last_used_at",
                    "client_secret_expires_at",
                    "registration_access_token",
                ]
            },
        ),
    ]
    actions = [
        "rotate_secret",
        "revoke_tokens",
        "revoke_registration_token",
        "allow_client_credentials",
        "forbid_client_credentials",
        "deactivate",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _live_access=_live_count(AccessToken, "client"),
                _live_refresh=_live_count(RefreshToken, "family__client", used_at__isnull=True),
            )
        )

    @admin.display(description=_("type"), ordering="token_endpoint_auth_method")
    def client_type(self, client: Client) -> str:
        return _("public") if client.is_public else _("confidential")

    @admin.display(description=_("grant types"))
    def grant_types_display(self, client: Client) -> str:
        return ", ".join(client.grant_types)

    @admin.display(description=_("last used"), ordering="last_used_at", empty_value=_("never"))
    def last_used(self, client: Client):
        """The last time the client authenticated at the token endpoint (within five minutes)."""
        return client.last_used_at

    @admin.display(description=_("active tokens"))
    def active_tokens(self, client: Client) -> int:
        """Access tokens and refresh tokens that would still be accepted."""
        return client._live_access + client._live_refresh

    @admin.display(description=_("registration access token"), boolean=True)
    def registration_access_token(self, client: Client) -> bool:
        """Whether the client can manage itself at its configuration endpoint (RFC 7592); never the token."""
        return client.has_registration_access_token

    def save_model(self, request, obj: Client, form, change: bool) -> None:
        request._twenty_oauth_new_secrets = []
        if not change:
            obj.client_id = opaque.generate_client_id()
            obj.source = Client.Source.ADMIN
        before = Client.objects.filter(pk=obj.pk).first() if change else None
        if not obj.uses_secret:
            # Public, or private_key_jwt: a secret it kept would still authenticate nothing, and
            # would come back if the client were switched to a secret method again.
            obj.client_secret_digest = ""
            obj.client_secret_expires_at = None
        super().save_model(request, obj, form, change)
        if obj.uses_secret and not obj.client_secret_digest:
            # A new client with a secret method, or one switched to it: it needs a secret.
            request._twenty_oauth_new_secrets = [(obj, clients.rotate_secret(obj))]
        clients.changed(before, obj, ip=client_ip(request))

    def delete_model(self, request, obj: Client) -> None:
        signals.client_deleted.send(sender=Client, client=obj, ip=client_ip(request))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        ip = client_ip(request)
        for client in queryset:
            signals.client_deleted.send(sender=Client, client=client, ip=ip)
        super().delete_queryset(request, queryset)

    def response_add(self, request, obj, post_url_continue=None):
        if request._twenty_oauth_new_secrets:
            return self._secrets_page(request, request._twenty_oauth_new_secrets)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if request._twenty_oauth_new_secrets:
            return self._secrets_page(request, request._twenty_oauth_new_secrets)
        return super().response_change(request, obj)

    def _secrets_page(self, request, pairs):
        """The only page that ever shows a secret: not cached, not kept, not shown again."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Client secret — copy it now"),
            "pairs": pairs,
        }
        response = TemplateResponse(request, "admin/twenty_oauth/client_secret.html", context)
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        return response

    def _end_grants(self, request, queryset) -> int:
        return clients.end_grants(list(queryset.values_list("pk", flat=True)), ip=client_ip(request))

    @admin.action(description=_("Rotate the secret of selected confidential clients"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        pairs = [(client, clients.rotate_secret(client)) for client in queryset if client.uses_secret]
        if not pairs:
            self.message_user(
                request, _("Public and private_key_jwt clients have no secret."), messages.WARNING
            )
            return None
        for client, _secret in pairs:
            # The history says who rotated and when; the secret itself is never written down.
            self.log_change(request, client, _("Rotated the client secret."))
        return self._secrets_page(request, pairs)

    @admin.action(description=_("Revoke every token of selected clients"), permissions=["change"])
    def revoke_tokens(self, request, queryset):
        count = self._end_grants(request, queryset)
        self.message_user(
            request,
            ngettext("Revoked %(count)d grant.", "Revoked %(count)d grants.", count) % {"count": count},
        )

    @admin.action(
        description=_("Revoke the registration access token of selected clients"), permissions=["change"]
    )
    def revoke_registration_token(self, request, queryset):
        """RFC 7592: the clients can no longer read, update or delete their registration themselves."""
        holders = list(queryset.exclude(registration_access_token_digest=""))
        count = clients.revoke_registration_tokens([client.pk for client in holders])
        for client in holders:
            self.log_change(request, client, _("Revoked the registration access token."))
        self.message_user(
            request,
            ngettext(
                "Revoked the registration access token of %(count)d client.",
                "Revoked the registration access tokens of %(count)d clients.",
                count,
            )
            % {"count": count},
        )

    @admin.action(
        description=_("Allow client_credentials for selected self-registered clients"), permissions=["change"]
    )
    def allow_client_credentials(self, request, queryset):
        eligible = clients.allow_client_credentials(list(queryset.values_list("pk", flat=True)))
        count = len(eligible)
        self.message_user(
            request,
            ngettext(
                "%(count)d client may now use client_credentials.",
                "%(count)d clients may now use client_credentials.",
                count,
            )
            % {"count": count},
        )
        skipped = queryset.count() - count
        if skipped:
            self.message_user(
                request,
                _(
                    "%(count)d skipped: public clients never may, and clients created by staff "
                    "always may when registered for the grant."
                )
                % {"count": skipped},
                messages.WARNING,
            )
        missing = [c for c in eligible if "client_credentials" not in c.grant_types]
        if missing:
            self.message_user(
                request,
                _("Not registered for client_credentials, so still refused: %(names)s.")
                % {"names": ", ".join(str(c) for c in missing)},
                messages.WARNING,
            )

    @admin.action(
        description=_("Forbid client_credentials for selected self-registered clients"),
        permissions=["change"],
    )
    def forbid_client_credentials(self, request, queryset):
        count, ended = clients.forbid_client_credentials(list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            _("%(count)d clients may no longer use client_credentials; %(ended)d of their grants revoked.")
            % {"count": count, "ended": ended},
        )

    @admin.action(
        description=_("Deactivate selected clients and revoke their tokens"), permissions=["change"]
    )
    def deactivate(self, request, queryset):
        # Fix the selection first: once updated, a changelist filtered on "active" selects nothing.
        count = clients.deactivate(list(queryset.values_list("pk", flat=True)), ip=client_ip(request))
        self.message_user(
            request,
            ngettext(
                "Deactivated %(count)d client; its tokens no longer work.",
                "Deactivated %(count)d clients; their tokens no longer work.",
                count,
            )
            % {"count": count},
        )


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
        return ["client__client_name", "client__client_id", _user_search_field()]

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
        return ["sub", _user_search_field()]


@admin.register(TokenFamily)
class TokenFamilyAdmin(ReadOnlyAdmin):
    """A grant: the tokens of one authorization and all their refreshes."""

    list_display = ["pk", "client", "user", "scope", "created_at", "revoked_at", "live_tokens"]
    list_filter = [RevokedFilter]
    list_select_related = ["user", "client"]
    exclude = ["authorization_code"]
    actions = ["revoke"]

    def get_search_fields(self, request):
        return ["client__client_name", "client__client_id", _user_search_field()]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_live=_live_count(AccessToken, "family"))

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
        return ["client__client_name", "client__client_id", _user_search_field()]

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
        return ["family__client__client_name", "family__client__client_id", f"family__{_user_search_field()}"]

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
        return ["client__client_name", "client__client_id", _user_search_field()]

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
