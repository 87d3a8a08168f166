"""The relying party's users come from the provider's claims: its username, its email."""

from django.conf import settings
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import absolutify


class ProviderBackend(OIDCAuthenticationBackend):
    """Users are matched by email (the library's default) and named as on the provider."""

    def create_user(self, claims):
        return self.UserModel.objects.create_user(
            username=claims["preferred_username"],
            email=claims["email"],
            first_name=claims.get("given_name", ""),
        )


def provider_logout_url(request) -> str:
    """RP-Initiated Logout 1.0 §2: the provider's end_session_endpoint, with the ID token as hint."""
    from urllib.parse import urlencode

    query = {
        "id_token_hint": request.session.get("oidc_id_token", ""),
        "post_logout_redirect_uri": absolutify(request, "/whoami"),
        "state": "rp-logout",
    }
    return f"{settings.PROVIDER}/oauth/logout?{urlencode(query)}"
