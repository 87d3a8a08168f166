"""
Signing keys at rest: the private keys of the ``SigningKey`` table are encrypted with a
key-encryption key (KEK), so that a copy of the database does not hand out a key that signs
tokens.

The KEKs come from ``TWENTY_OAUTH["KEY_ENCRYPTION_KEYS"]``, each the URL-safe base64 of 32 random
bytes: the first encrypts, every one decrypts, as with ``SECRET_KEY_FALLBACKS``. Unset, the KEK
is derived from ``SECRET_KEY`` with HKDF-SHA256 (RFC 5869); keys derived from ``SECRET_KEY`` and
from each of ``SECRET_KEY_FALLBACKS`` are always tried last, so that keys encrypted before
``KEY_ENCRYPTION_KEYS`` was set still decrypt until ``manage.py oauth_keys reencrypt`` moves them.

A stored key is ``enc:v1:`` followed by the unpadded base64url of nonce ‖ ciphertext ‖ tag:
AES-256-GCM with a random 96-bit nonce (NIST SP 800-38D §8.2.2) and the key's ``kid`` as
associated data, so that a ciphertext copied to another row does not decrypt there. A value
without the prefix is a PEM from before encryption; it is read as it is, so that a process of
this version can start before ``migrate`` has encrypted the table.

Nothing here puts key material in an exception's message: an error names the ``kid`` and the
setting, never a key.

Migration ``0005_signing_keys_encrypted`` holds a frozen copy of format v1: change the format
only under a new prefix, and keep reading ``enc:v1:``.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.signals import setting_changed
from django.utils.encoding import force_bytes
from django.views.decorators.debug import sensitive_variables

from twenty_oauth.conf import oauth_settings

PREFIX = "enc:v1:"
KEK_BYTES = 32
NONCE_BYTES = 12

#: HKDF's salt and info for the KEK derived from a ``SECRET_KEY``: fixed, since changing either
#: derives another key, which no longer decrypts what the old one encrypted.
HKDF_SALT = b"twenty-oauth"
HKDF_INFO = b"twenty-oauth signing-key encryption v1"


class KeyEncryptionError(Exception):
    """A KEK that cannot be used, or a stored key that no KEK decrypts. The message names no key."""


@dataclass(frozen=True)
class KEK:
    """A key-encryption key and the setting it comes from, for messages."""

    source: str
    key: bytes = field(repr=False)


def new_kek() -> str:
    """A fresh KEK as ``KEY_ENCRYPTION_KEYS`` takes it: URL-safe base64 of 32 random bytes."""
    return base64.urlsafe_b64encode(os.urandom(KEK_BYTES)).decode("ascii")


@sensitive_variables()
def parse_kek(value: Any) -> bytes:
    """The 32 bytes of a configured KEK; ``ValueError`` (naming no key) when it is malformed."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {type(value).__name__}")
    text = value.strip().rstrip("=")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("is not URL-safe base64") from None
    if len(key) != KEK_BYTES:
        raise ValueError(f"decodes to {len(key)} bytes, not {KEK_BYTES}")
    return key


@sensitive_variables()
def derive_kek(secret: str | bytes) -> bytes:
    """The KEK derived from a ``SECRET_KEY`` (HKDF-SHA256, RFC 5869)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEK_BYTES, salt=HKDF_SALT, info=HKDF_INFO)
    return hkdf.derive(force_bytes(secret))


_lock = threading.Lock()
_keks: list[KEK] | None = None


def keks() -> list[KEK]:
    """Every KEK, the one that encrypts first. Computed once per process and settings."""
    global _keks
    found = _keks
    if found is None:
        with _lock:
            found = _keks = _build_keks()
    return found


@sensitive_variables()
def _build_keks() -> list[KEK]:
    configured = []
    for index, value in enumerate(oauth_settings.KEY_ENCRYPTION_KEYS or ()):
        source = f"TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'][{index}]"
        try:
            configured.append(KEK(source, parse_kek(value)))
        except ValueError as exc:
            raise KeyEncryptionError(f"{source} {exc}.") from None
    derived = [KEK("SECRET_KEY", derive_kek(settings.SECRET_KEY))]
    fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", None) or []
    derived += [KEK(f"SECRET_KEY_FALLBACKS[{i}]", derive_kek(s)) for i, s in enumerate(fallbacks)]
    return configured + derived


def clear_cache() -> None:
    global _keks
    with _lock:
        _keks = None


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("TWENTY_OAUTH", "SECRET_KEY", "SECRET_KEY_FALLBACKS"):
        clear_cache()


setting_changed.connect(_settings_changed)


def is_encrypted(stored: str) -> bool:
    return stored.startswith("enc:")


@sensitive_variables()
def encrypt(pem: str, kid: str) -> str:
    """``pem`` encrypted with the first KEK, bound to ``kid``, in the stored form."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keks()[0].key).encrypt(nonce, pem.encode("ascii"), kid.encode("utf-8"))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")


@sensitive_variables()
def decrypt(stored: str, kid: str) -> str:
    """The PEM of a stored key. ``KeyEncryptionError`` when no KEK decrypts it."""
    return _open(stored, kid)[0]


def decrypted_by(stored: str, kid: str) -> KEK | None:
    """The KEK that decrypts a stored key; None for a PEM stored before encryption."""
    return _open(stored, kid)[1]


@sensitive_variables()
def _open(stored: str, kid: str) -> tuple[str, KEK | None]:
    if not is_encrypted(stored):
        return stored, None
    if not stored.startswith(PREFIX):
        raise KeyEncryptionError(f"The signing key {kid} is stored in a format this version cannot read.")
    payload = stored[len(PREFIX) :]
    try:
        raw = base64.b64decode(payload + "=" * (-len(payload) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) <= NONCE_BYTES + 16:
        raise KeyEncryptionError(f"The signing key {kid} is stored damaged: its ciphertext cannot be read.")
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    for kek in keks():
        try:
            pem = AESGCM(kek.key).decrypt(nonce, sealed, kid.encode("utf-8"))
        except InvalidTag:
            continue
        return pem.decode("ascii"), kek
    raise KeyEncryptionError(
        f"The signing key {kid} cannot be decrypted with any key-encryption key: not with "
        "TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'], nor with the keys derived from SECRET_KEY and "
        "SECRET_KEY_FALLBACKS."
    )
