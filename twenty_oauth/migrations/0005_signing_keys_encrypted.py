"""
Encrypt the signing keys stored as plaintext PEM, as every key is stored from now on; the reverse
decrypts them again.

What it writes is format v1 of ``twenty_oauth.protocol.key_encryption``: ``enc:v1:`` and the
unpadded base64url of a 96-bit nonce, the AES-256-GCM ciphertext and its tag, with the key's
``kid`` as associated data, under the key-encryption key the application uses (the first of
``TWENTY_OAUTH["KEY_ENCRYPTION_KEYS"]``, else the HKDF-SHA256 derivation of ``SECRET_KEY``).
That code is copied here, not imported: a migration must do tomorrow what it does today, whatever
the module becomes. Only the ``cryptography`` primitives it calls are imported.
"""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import migrations

PREFIX = "enc:v1:"


def _derived(secret):
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"twenty-oauth",
        info=b"twenty-oauth signing-key encryption v1",
    )
    return hkdf.derive(secret)


def _keks():
    """Every key-encryption key, the one that encrypts first."""
    configured = []
    oauth = getattr(settings, "TWENTY_OAUTH", None) or {}
    for index, value in enumerate(oauth.get("KEY_ENCRYPTION_KEYS") or ()):
        text = value.strip().rstrip("=") if isinstance(value, str) else ""
        try:
            key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ValueError(
                f"TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'][{index}] is not the URL-safe base64 of 32 bytes."
            )
        configured.append(key)
    fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", None) or []
    return configured + [_derived(settings.SECRET_KEY)] + [_derived(s) for s in fallbacks]


def encrypt_keys(apps, schema_editor):
    SigningKey = apps.get_model("twenty_oauth", "SigningKey")
    kek = None
    for row in SigningKey.objects.using(schema_editor.connection.alias).order_by("pk"):
        if row.private_key.startswith("enc:"):
            continue
        kek = kek or _keks()[0]
        nonce = os.urandom(12)
        sealed = AESGCM(kek).encrypt(nonce, row.private_key.encode("ascii"), row.kid.encode("utf-8"))
        row.private_key = PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        row.save(update_fields=["private_key"])


def decrypt_keys(apps, schema_editor):
    SigningKey = apps.get_model("twenty_oauth", "SigningKey")
    keks = None
    for row in SigningKey.objects.using(schema_editor.connection.alias).order_by("pk"):
        if not row.private_key.startswith(PREFIX):
            continue
        keks = keks or _keks()
        payload = row.private_key[len(PREFIX) :]
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        for kek in keks:
            try:
                pem = AESGCM(kek).decrypt(raw[:12], raw[12:], row.kid.encode("utf-8"))
            except InvalidTag:
                continue
            break
        else:
            raise ValueError(
                f"The signing key {row.kid} cannot be decrypted with any key-encryption key; "
                "configure the one it was encrypted with before migrating back."
            )
        row.private_key = pem.decode("ascii")
        row.save(update_fields=["private_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("twenty_oauth", "0004_client_registration_access_token"),
    ]

    operations = [
        migrations.RunPython(encrypt_keys, decrypt_keys),
    ]
