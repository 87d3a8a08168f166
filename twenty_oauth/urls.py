"""
Every endpoint. No path ends in a slash: strict clients refuse to follow a redirect on metadata
and token calls.

Included at the site's root, ``path("", include("twenty_oauth.urls"))``, this serves the
discovery documents too, where RFC 8414 §3.1 and RFC 9728 §3.1 put them. Included under a prefix,
a script name or ``i18n_patterns``, the endpoints move with it and the documents list them there,
but clients still look for the documents at the host's root: include ``twenty_oauth.discovery_urls``
there as well (the system check ``twenty_oauth.E024`` says so when it is missing).
"""

from django.urls import path

from twenty_oauth import discovery_urls
from twenty_oauth.views import apps, authorize, device, logout
from twenty_oauth.views.client_configuration import ClientConfigurationView
from twenty_oauth.views.device_authorization import DeviceAuthorizationView
from twenty_oauth.views.introspection import IntrospectionView
from twenty_oauth.views.jwks import JWKSView
from twenty_oauth.views.registration import RegistrationView
from twenty_oauth.views.revocation import RevocationView
from twenty_oauth.views.token import TokenView
from twenty_oauth.views.userinfo import UserInfoView

app_name = "twenty_oauth"

urlpatterns = [
    # First: the pattern most requests are for, tried before the others (no two overlap).
    path("oauth/token", TokenView.as_view(), name="token"),
    # The same patterns and names as twenty_oauth.discovery_urls, in this namespace.
    *discovery_urls.urlpatterns,
    path("oauth/register", RegistrationView.as_view(), name="register"),
    # RFC 7592: any client_id routes here (a URL too), so that every refusal is the same 401.
    path("oauth/register/<path:client_id>", ClientConfigurationView.as_view(), name="client-configuration"),
    path("oauth/authorize", authorize.authorize, name="authorize"),
    path("oauth/switch-user", authorize.switch_user, name="switch-user"),
    path("oauth/device_authorization", DeviceAuthorizationView.as_view(), name="device-authorization"),
    path("oauth/device", device.device, name="device"),
    path("oauth/revoke", RevocationView.as_view(), name="revoke"),
    path("oauth/introspect", IntrospectionView.as_view(), name="introspect"),
    path("oauth/jwks", JWKSView.as_view(), name="jwks"),
    path("oauth/userinfo", UserInfoView.as_view(), name="userinfo"),
    path("oauth/apps", apps.authorized_apps, name="apps"),
    path("oauth/logout", logout.end_session, name="end-session"),
]
