"""
Django admin for clients, consents and tokens. No secret or token is ever displayed: a new
client secret is shown once, on the page that follows its creation or rotation, and is stored
nowhere but as its digest.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from twenty_oauth import registration, tokens
from twenty_oauth.errors import OAuthError
from twenty_oauth.metadata import GRANT_TYPES
from twenty_oauth.models import AccessToken, Client, Consent, SigningKey, TokenFamily


class ClientForm(forms.ModelForm):
    """Edits a client under the same rules as dynamic registration (``registration.validate``)."""

    redirect_uris_text = forms.CharField(
        label=_("Redirect URIs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line. Matched exactly; loopback URIs match any port."),
    )
    grant_types_choice = forms.MultipleChoiceField(
        label=_("Grant types"),
        choices=[(g, g) for g in GRANT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        initial=["authorization_code"],
    )
    contacts_text = forms.CharField(
        label=_("Contacts"),
        required=False,
        help_text=_("Email addresses, one per line."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Client
        fields = [
            "client_name",
            "token_endpoint_auth_method",
            "scope",
            "client_uri",
            "logo_uri",
            "tos_uri",
            "policy_uri",
            "client_credentials_allowed",
            "is_active",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["redirect_uris_text"] = "\n".join(self.instance.redirect_uris)
            self.initial["grant_types_choice"] = [g for g in self.instance.grant_types if g in GRANT_TYPES]
            self.initial["contacts_text"] = "\n".join(self.instance.contacts)

    def clean(self):
        data = super().clean()
        metadata = {
            k: v
            for k, v in data.items()
            if k
            in (
                "client_name",
                "token_endpoint_auth_method",
                "scope",
                "client_uri",
                "logo_uri",
                "tos_uri",
                "policy_uri",
            )
            and v
        }
        metadata["redirect_uris"] = [
            line.strip() for line in data.get("redirect_uris_text", "").splitlines() if line.strip()
        ]
        metadata["grant_types"] = list(data.get("grant_types_choice") or [])
        metadata["contacts"] = [
            line.strip() for line in data.get("contacts_text", "").splitlines() if line.strip()
        ]
        try:
            self.validated = registration.validate(metadata)
        except OAuthError as error:
            raise forms.ValidationError(error.description) from error
        return data

    def save(self, commit: bool = True):
        client = super().save(commit=False)
        for name in ("redirect_uris", "grant_types", "response_types", "contacts"):
            setattr(client, name, self.validated[name])
        if commit:
            client.save()
        return client


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
        "last_used_at",
        "active_tokens",
        "is_active",
    ]
    list_filter = ["token_endpoint_auth_method", "source", "is_active", "client_credentials_allowed"]
    search_fields = ["client_name", "client_id"]
    readonly_fields = ["client_id", "source", "created_at", "last_used_at", "client_secret_expires_at"]
    actions = [
        "rotate_secret",
        "revoke_tokens",
        "allow_client_credentials",
        "forbid_client_credentials",
        "deactivate",
    ]

    def get_queryset(self, request):
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                _active_tokens=Count(
                    "access_tokens",
                    filter=Q(access_tokens__revoked_at__isnull=True, access_tokens__expires_at__gt=now),
                )
            )
        )

    @admin.display(description=_("type"))
    def client_type(self, client: Client) -> str:
        return _("public") if client.is_public else _("confidential")

    @admin.display(description=_("grant types"))
    def grant_types_display(self, client: Client) -> str:
        return ", ".join(client.grant_types)

    @admin.display(description=_("active tokens"), ordering="_active_tokens")
    def active_tokens(self, client: Client) -> int:
        return client._active_tokens

    def save_model(self, request, obj: Client, form, change: bool) -> None:
        if not change:
            created, secret = registration.create_client(
                {
                    f: getattr(obj, f)
                    for f in (
                        "client_name",
                        "redirect_uris",
                        "grant_types",
                        "response_types",
                        "token_endpoint_auth_method",
                        "scope",
                        "client_uri",
                        "logo_uri",
                        "tos_uri",
                        "policy_uri",
                        "contacts",
                        "client_credentials_allowed",
                        "is_active",
                    )
                },
                source=Client.Source.ADMIN,
            )
            obj.pk, obj.client_id, obj.created_at = created.pk, created.client_id, created.created_at
            request._twenty_oauth_new_secrets = [(created, secret)] if secret else []
            return
        if "is_active" in form.changed_data and not obj.is_active:
            tokens.revoke_families(TokenFamily.objects.filter(client=obj))
        if obj.is_public:
            obj.client_secret_digest = ""
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        shown = getattr(request, "_twenty_oauth_new_secrets", [])
        if shown:
            return self._secrets_page(request, shown)
        return super().response_add(request, obj, post_url_continue)

    def _secrets_page(self, request, pairs):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Client secret — copy it now"),
            "pairs": pairs,
        }
        response = TemplateResponse(request, "admin/twenty_oauth/client_secret.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Rotate the secret of selected confidential clients"))
    def rotate_secret(self, request, queryset):
        pairs = [(client, registration.rotate_secret(client)) for client in queryset if not client.is_public]
        if not pairs:
            self.message_user(request, _("Public clients have no secret."), messages.WARNING)
            return None
        return self._secrets_page(request, pairs)

    @admin.action(description=_("Revoke every token of selected clients"))
    def revoke_tokens(self, request, queryset):
        count = tokens.revoke_families(TokenFamily.objects.filter(client__in=queryset))
        self.message_user(request, _("Revoked %(count)d grants.") % {"count": count})

    @admin.action(description=_("Allow client_credentials for selected clients"))
    def allow_client_credentials(self, request, queryset):
        queryset.exclude(token_endpoint_auth_method="none").update(client_credentials_allowed=True)

    @admin.action(description=_("Forbid client_credentials for selected clients"))
    def forbid_client_credentials(self, request, queryset):
        queryset.update(client_credentials_allowed=False)

    @admin.action(description=_("Deactivate selected clients and revoke their tokens"))
    def deactivate(self, request, queryset):
        queryset.update(is_active=False)
        tokens.revoke_families(TokenFamily.objects.filter(client__in=queryset))


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(ReadOnlyAdmin):
    list_display = ["user", "client", "scope", "created_at", "updated_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["client__client_name", "client__client_id"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke selected consents and their tokens"))
    def revoke(self, request, queryset):
        for consent in queryset:
            tokens.revoke_families(TokenFamily.objects.filter(client=consent.client, user=consent.user))
        queryset.update(revoked_at=timezone.now())


@admin.register(AccessToken)
class AccessTokenAdmin(ReadOnlyAdmin):
    list_display = ["pk", "client", "user", "scope", "created_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["client__client_name", "client__client_id"]
    exclude = ["jti"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke selected access tokens"))
    def revoke(self, request, queryset):
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["kid", "algorithm", "created_at", "activated_at", "retired_at"]
    exclude = ["private_key"]
