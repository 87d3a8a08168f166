"""twenty-oauth inside ``i18n_patterns`` and nothing at the root: the discovery documents are not found."""

from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path

from tests.mounts import host_urlpatterns

urlpatterns = [
    *host_urlpatterns,
    *i18n_patterns(path("", include("twenty_oauth.urls"))),
]
