from importlib.util import find_spec

from django.apps import AppConfig
from django.db import router
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TwentyOAuthConfig(AppConfig):
    name = "twenty_oauth"
    verbose_name = _("OAuth")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from twenty_oauth import checks, signals  # noqa: F401 - registers checks and log receivers
        from twenty_oauth.protocol import consents  # noqa: F401 - ends an inactive user's grants
        from twenty_oauth.views import sessions  # noqa: F401 - records when a person signs in

        post_migrate.connect(create_signing_key, sender=self, dispatch_uid="twenty_oauth.create_signing_key")
        if find_spec("drf_spectacular") is not None:
            # A host that documents its API with drf-spectacular gets the OAuth endpoints too.
            from twenty_oauth import schema  # noqa: F401 - registers the view extensions


def create_signing_key(sender, *, using, apps=None, plan=None, verbosity=1, stdout=None, **kwargs) -> None:
    """
    After ``migrate`` (and ``flush``), the first signing key when none signs and none is pinned
    in ``TWENTY_OAUTH["SIGNING_KEYS"]``: requests never create keys. Nothing is created when the
    run unapplied a migration of this app (a downgrade, whose code may not read the key).
    """
    from twenty_oauth.protocol import keys

    if any(migration.app_label == sender.label and backwards for migration, backwards in plan or ()):
        return
    try:
        model = (apps or sender.apps).get_model(sender.label, "SigningKey")
    except LookupError:  # migrated back to zero
        return
    if not router.allow_migrate_model(using, model):
        return
    row = keys.ensure_signing_key(model, using)
    if row is not None and verbosity >= 1 and stdout is not None:
        stdout.write(f"Created the signing key {row.kid} ({row.algorithm}).\n")
