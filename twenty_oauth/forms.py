"""The admin's client form: a client edited under the same rules as dynamic registration."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from twenty_oauth.models import Client
from twenty_oauth.protocol import clients
from twenty_oauth.protocol.client_metadata import ClientMetadataSerializer, first_error
from twenty_oauth.protocol.discovery import ASSERTION_SIGNING_ALGORITHMS, GRANT_TYPES
from twenty_oauth.protocol.metadata_fields import URL_FIELDS

#: The form field that shows an error about each metadata field; others are form-wide.
ERROR_FIELDS = {
    "grant_types": "grant_types_choice",
    "response_types": "grant_types_choice",
    "redirect_uris": "redirect_uris_text",
    "contacts": "contacts_text",
    "token_endpoint_auth_method": "token_endpoint_auth_method",
    "application_type": "application_type",
    "scope": "scope",
    "client_name": "client_name",
    "client_uri": "client_uri",
    "logo_uri": "logo_uri",
    "tos_uri": "tos_uri",
    "policy_uri": "policy_uri",
    "jwks": "jwks_text",
    "jwks_uri": "jwks_uri",
    "token_endpoint_auth_signing_alg": "token_endpoint_auth_signing_alg",
    "dpop_bound_access_tokens": "dpop_bound_access_tokens",
    "id_token_signed_response_alg": "id_token_signed_response_alg",
    "post_logout_redirect_uris": "post_logout_redirect_uris_text",
    "default_max_age": "default_max_age",
    "require_auth_time": "require_auth_time",
}

METADATA_FIELDS = (
    "client_name",
    "token_endpoint_auth_method",
    "application_type",
    "scope",
    *URL_FIELDS,
    "jwks_uri",
    "token_endpoint_auth_signing_alg",
    "dpop_bound_access_tokens",
    "id_token_signed_response_alg",
    "require_auth_time",
)


class ClientForm(forms.ModelForm):
    """Edits a client under the same rules as dynamic registration (``ClientMetadataSerializer``)."""

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
        help_text=_("A client registered for authorization_code also receives refresh tokens."),
    )
    contacts_text = forms.CharField(
        label=_("Contacts"),
        required=False,
        help_text=_("Email addresses, one per line."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    jwks_text = forms.CharField(
        label=_("JWK Set"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=_(
            'For private_key_jwt: the client\'s public keys as a JWK Set, {"keys": [...]}. '
            "Or give its JWK Set URL instead."
        ),
    )
    token_endpoint_auth_signing_alg = forms.ChoiceField(
        label=_("Assertion signing algorithm"),
        required=False,
        choices=[("", _("any accepted")), *((alg, alg) for alg in ASSERTION_SIGNING_ALGORITHMS)],
        help_text=_("For private_key_jwt: the only algorithm the client's assertions may use."),
    )

    id_token_signed_response_alg = forms.ChoiceField(
        label=_("ID token signing algorithm"),
        required=False,
        choices=[("", _("ES256 (default)")), ("ES256", "ES256"), ("RS256", "RS256")],
        help_text=_("OpenID Connect: how the client's ID tokens are signed."),
    )
    post_logout_redirect_uris_text = forms.CharField(
        label=_("Post-logout redirect URIs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("OpenID Connect logout: one per line, matched exactly."),
    )

    class Meta:
        model = Client
        fields = [
            "client_name",
            "token_endpoint_auth_method",
            "application_type",
            "jwks_uri",
            "token_endpoint_auth_signing_alg",
            "scope",
            "client_uri",
            "logo_uri",
            "tos_uri",
            "policy_uri",
            "dpop_bound_access_tokens",
            "id_token_signed_response_alg",
            "default_max_age",
            "require_auth_time",
            "client_credentials_allowed",
            "introspection_allowed",
            "is_active",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["redirect_uris_text"] = "\n".join(self.instance.redirect_uris)
            self.initial["grant_types_choice"] = [g for g in self.instance.grant_types if g in GRANT_TYPES]
            self.initial["contacts_text"] = "\n".join(self.instance.contacts)
            self.initial["post_logout_redirect_uris_text"] = "\n".join(
                self.instance.post_logout_redirect_uris
            )
            if self.instance.jwks is not None:
                self.initial["jwks_text"] = json.dumps(self.instance.jwks, indent=2)

    def clean_jwks_text(self):
        text = self.cleaned_data.get("jwks_text", "").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("Not valid JSON.")) from exc

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        metadata = {name: data[name] for name in METADATA_FIELDS if data.get(name)}
        if data.get("jwks_text") is not None:
            metadata["jwks"] = data["jwks_text"]
        metadata["redirect_uris"] = _lines(data.get("redirect_uris_text", ""))
        metadata["grant_types"] = list(data.get("grant_types_choice") or [])
        metadata["contacts"] = _lines(data.get("contacts_text", ""))
        metadata["post_logout_redirect_uris"] = _lines(data.get("post_logout_redirect_uris_text", ""))
        if data.get("default_max_age") is not None:
            metadata["default_max_age"] = data["default_max_age"]
        source = self.instance.source if self.instance.pk else Client.Source.ADMIN
        serializer = ClientMetadataSerializer(data=metadata, context={"source": source})
        if serializer.is_valid():
            self.validated = serializer.validated_data
        else:
            name, message = first_error(serializer.errors)
            self.add_error(ERROR_FIELDS.get(name), str(message))
        if (
            data.get("introspection_allowed")
            and data.get("token_endpoint_auth_method") == Client.AuthMethod.NONE
        ):
            self.add_error("introspection_allowed", clients.PUBLIC_CANNOT_INTROSPECT)
        return data

    def save(self, commit: bool = True):
        client = super().save(commit=False)
        for name, value in self.validated.items():
            if name in ("software_id", "software_version"):
                continue  # not edited here: keep what the client registered
            setattr(client, name, value)
        if commit:
            client.save()
        return client


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]
