from importlib.util import find_spec

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwentyOAuthConfig(AppConfig):
    name = "twenty_oauth"
    verbose_name = _("OAuth")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from twenty_oauth import checks, signals  # noqa: F401 - registers checks and log receivers
        from twenty_oauth.protocol import consents  # noqa: F401 - ends an inactive user's grants

        if find_spec("drf_spectacular") is not None:
            # A host that documents its API with drf-spectacular gets the OAuth endpoints too.
            from twenty_oauth import schema  # noqa: F401 - registers the view extensions
