from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwentyOAuthConfig(AppConfig):
    name = "twenty_oauth"
    verbose_name = _("OAuth")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from twenty_oauth import checks, signals  # noqa: F401 - registers checks and log receivers
