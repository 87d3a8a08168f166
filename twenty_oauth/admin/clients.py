"""The client admin: metadata under the registration rules, secrets shown once, grants ended."""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from twenty_oauth import signals
from twenty_oauth.admin.columns import live_count
from twenty_oauth.admin.filters import ClientTypeFilter
from twenty_oauth.forms import ClientForm
from twenty_oauth.models import (
    AccessToken,
    Client,
    RefreshToken,
)
from twenty_oauth.protocol import clients, opaque
from twenty_oauth.views.inputs import client_ip


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
                _live_access=live_count(AccessToken, "client"),
                _live_refresh=live_count(RefreshToken, "family__client", used_at__isnull=True),
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
