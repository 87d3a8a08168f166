"""
twenty-oauth inside ``i18n_patterns(prefix_default_language=False)``: the default language's
URLs have no prefix (``/oauth/token``), the others have theirs (``/fr/oauth/token``).
"""

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path

from tests.mounts import host_urlpatterns

urlpatterns = [
    *host_urlpatterns,
    path("", include("twenty_oauth.discovery_urls")),
    *i18n_patterns(path("", include("twenty_oauth.urls")), prefix_default_language=False),
]
