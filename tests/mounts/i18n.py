"""twenty-oauth inside ``i18n_patterns`` (``/en/oauth/token``), its discovery documents at the root."""

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path

from tests.mounts import host_urlpatterns

urlpatterns = [
    *host_urlpatterns,
    path("", include("twenty_oauth.discovery_urls")),
    *i18n_patterns(path("", include("twenty_oauth.urls"))),
]
