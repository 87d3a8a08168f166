"""
``manage.py oauth_keys``: list, create, rotate and retire the keys that sign access tokens.

A safe rotation, with resource servers that cache the JWK Set for up to five minutes::

    manage.py oauth_keys create          # publish a new key; it does not sign yet
    (wait for caches of /oauth/jwks to expire)
    manage.py oauth_keys activate KID    # the new key signs; the old one still verifies
    (wait for the last token signed by the old key to expire: ACCESS_TOKEN_LIFETIME)
    manage.py oauth_keys retire OLD_KID  # the old key is no longer published

``rotate`` does the first two steps at once, which is fine where tokens are verified only here.

Private keys are stored encrypted with the key-encryption key (``KEY_ENCRYPTION_KEYS``, or one
derived from ``SECRET_KEY``). To change it::

    manage.py oauth_keys new-kek         # prints a new key-encryption key
    (put it first in KEY_ENCRYPTION_KEYS, keep the old one after it, deploy)
    manage.py oauth_keys reencrypt       # every key is now encrypted with the new one
    (remove the old key-encryption key)

``list`` reads and changes nothing; it says which key-encryption key each key needs.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from twenty_oauth.conf import oauth_settings
from twenty_oauth.models import SigningKey
from twenty_oauth.protocol import key_encryption, keys

#: What may run while keys are pinned in settings: these touch no key that signs.
WITH_PINNED_KEYS = ("list", "new-kek", "reencrypt")


class Command(BaseCommand):
    help = (
        "List, create, activate, rotate and retire access-token signing keys; re-encrypt them with "
        "a new key-encryption key."
    )

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
        sub.add_parser("new-kek", help="Print a new key-encryption key for KEY_ENCRYPTION_KEYS.")
        sub.add_parser("reencrypt", help="Encrypt every key with the first key-encryption key.")

    def handle(self, *args, action: str, **options):
        if oauth_settings.SIGNING_KEYS and action not in WITH_PINNED_KEYS:
            raise CommandError("Keys are pinned in TWENTY_OAUTH['SIGNING_KEYS']; change them there.")
        try:
            getattr(self, f"_{action.replace('-', '_')}")(**options)
        except key_encryption.KeyEncryptionError as exc:
            raise CommandError(str(exc)) from None
        if action not in ("list", "new-kek"):
            keys.clear_cache()

    def _list(self, **options):
        if oauth_settings.SIGNING_KEYS:
            for index, pem in enumerate(oauth_settings.SIGNING_KEYS):
                key = keys.load_pem(pem)
                state = "signing" if index == 0 else "verifying"
                self.stdout.write(f"{key.kid}  {key.algorithm}  {state}  (pinned in settings)")
            return
        signing = keys.signing_row()
        rows = SigningKey.objects.order_by("created_at")
        for row in rows:
            if row.retired_at:
                state = f"retired {row.retired_at:%Y-%m-%d %H:%M}"
            elif signing is not None and row.pk == signing.pk:
                state = "signing"
            elif row.activated_at:
                state = "verifying"
            else:
                state = "published, not yet signing"
            self.stdout.write(
                f"{row.kid}  {row.algorithm}  {state}  created {row.created_at:%Y-%m-%d %H:%M}  "
                f"{encryption_of(row)}"
            )
        if not rows:
            self.stdout.write("No keys: 'migrate' or 'oauth_keys rotate' creates the first one.")

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
        signing = keys.signing_row()
        if signing is not None and row.pk == signing.pk and not force:
            raise CommandError(f"{kid} is the signing key; rotate first, or pass --force.")
        row.retired_at = timezone.now()
        row.save(update_fields=["retired_at"])
        self.stdout.write(f"{kid} retired: tokens it signed no longer verify.")

    def _new_kek(self, **options):
        self.stdout.write(key_encryption.new_kek())

    def _reencrypt(self, **options):
        """Every key encrypted anew with the first KEK, in one transaction; none if one fails."""
        target = key_encryption.keks()[0].source
        done, skipped = 0, []
        with transaction.atomic():
            for row in SigningKey.objects.select_for_update().order_by("pk"):
                try:
                    pem = key_encryption.decrypt(row.private_key, row.kid)
                except key_encryption.KeyEncryptionError:
                    if row.retired_at is None:
                        raise
                    skipped.append(row.kid)  # retired: it no longer signs or verifies
                    continue
                row.private_key = key_encryption.encrypt(pem, row.kid)
                row.save(update_fields=["private_key"])
                done += 1
        self.stdout.write(f"Encrypted {done} key{'s' if done != 1 else ''} with {target}.")
        if skipped:
            self.stdout.write(
                f"Left as they were, since no key-encryption key decrypts them: the retired keys "
                f"{', '.join(skipped)}."
            )


def encryption_of(row: SigningKey) -> str:
    """Which key-encryption key a row needs, for ``list``: a setting's name, never a key."""
    try:
        kek = key_encryption.decrypted_by(row.private_key, row.kid)
    except key_encryption.KeyEncryptionError:
        return "cannot be decrypted"
    return f"encrypted with {kek.source}" if kek else "NOT ENCRYPTED"


def as_argument(kid: str) -> str:
    """A kid is base64url and may begin with '-', which the command line reads as an option."""
    return f"-- {kid}" if kid.startswith("-") else kid
