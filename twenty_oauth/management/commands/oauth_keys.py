"""
``manage.py oauth_keys``: list, create, rotate and retire the keys that sign access tokens.

A safe rotation, with resource servers that cache the JWK Set for up to five minutes::

    manage.py oauth_keys create          # publish a new key; it does not sign yet
    (wait for caches of /oauth/jwks to expire)
    manage.py oauth_keys activate KID    # the new key signs; the old one still verifies
    (wait for the last token signed by the old key to expire: ACCESS_TOKEN_LIFETIME)
    manage.py oauth_keys retire OLD_KID  # the old key is no longer published

``rotate`` does the first two steps at once, which is fine where tokens are verified only here.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from twenty_oauth.conf import oauth_settings
from twenty_oauth.models import SigningKey
from twenty_oauth.protocol import keys


class Command(BaseCommand):
    help = "List, create, activate, rotate and retire access-token signing keys."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Show every key and its state.")
        for name, text in (
            ("create", "Publish a new key that does not sign yet."),
            ("rotate", "Create a new key that signs at once; older keys keep verifying."),
        ):
            action = sub.add_parser(name, help=text)
            action.add_argument("--algorithm", choices=keys.ALGORITHMS, default=None)
        sub.add_parser("activate", help="Make a published key the signing key.").add_argument("kid")
        retire = sub.add_parser("retire", help="Stop publishing a key: its tokens stop verifying.")
        retire.add_argument("kid")
        retire.add_argument("--force", action="store_true", help="Retire even the signing key.")

    def handle(self, *args, action: str, **options):
        if oauth_settings.SIGNING_KEYS and action != "list":
            raise CommandError("Keys are pinned in TWENTY_OAUTH['SIGNING_KEYS']; change them there.")
        getattr(self, f"_{action}")(**options)
        keys.clear_cache()

    def _list(self, **options):
        if oauth_settings.SIGNING_KEYS:
            for index, pem in enumerate(oauth_settings.SIGNING_KEYS):
                key = keys.load_pem(pem)
                state = "signing" if index == 0 else "verifying"
                self.stdout.write(f"{key.kid}  {key.algorithm}  {state}  (pinned in settings)")
            return
        signing = keys.keyring.signing_key().kid
        for row in SigningKey.objects.order_by("created_at"):
            if row.retired_at:
                state = f"retired {row.retired_at:%Y-%m-%d %H:%M}"
            elif row.kid == signing:
                state = "signing"
            elif row.activated_at:
                state = "verifying"
            else:
                state = "published, not yet signing"
            self.stdout.write(f"{row.kid}  {row.algorithm}  {state}  created {row.created_at:%Y-%m-%d %H:%M}")

    def _create(self, algorithm=None, **options):
        row = keys.create_key(algorithm or oauth_settings.SIGNING_ALGORITHM, activate=False)
        command = f"oauth_keys activate {as_argument(row.kid)}"
        self.stdout.write(f"Created {row.kid} ({row.algorithm}); run '{command}' to sign with it.")

    def _rotate(self, algorithm=None, **options):
        row = keys.create_key(algorithm or oauth_settings.SIGNING_ALGORITHM, activate=True)
        self.stdout.write(f"{row.kid} ({row.algorithm}) now signs; older keys keep verifying until retired.")

    def _activate(self, kid: str, **options):
        updated = SigningKey.objects.filter(kid=kid, retired_at__isnull=True).update(
            activated_at=timezone.now()
        )
        if not updated:
            raise CommandError(f"No published key {kid!r}.")
        self.stdout.write(f"{kid} now signs.")

    def _retire(self, kid: str, force: bool = False, **options):
        row = SigningKey.objects.filter(kid=kid, retired_at__isnull=True).first()
        if row is None:
            raise CommandError(f"No published key {kid!r}.")
        if row.kid == keys.keyring.signing_key().kid and not force:
            raise CommandError(f"{kid} is the signing key; rotate first, or pass --force.")
        row.retired_at = timezone.now()
        row.save(update_fields=["retired_at"])
        self.stdout.write(f"{kid} retired: tokens it signed no longer verify.")


def as_argument(kid: str) -> str:
    """A kid is base64url and may begin with '-', which the command line reads as an option."""
    return f"-- {kid}" if kid.startswith("-") else kid
