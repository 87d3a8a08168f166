"""The signing keys in the database, read by ``migrate`` and ``check --database`` (E026, W011, W012, W015)."""

from __future__ import annotations

from django.core import checks
from django.db import connections, router

from twenty_oauth.checks.settings import check_settings


@checks.register(checks.Tags.database)
def check_signing_keys(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """
    The signing keys in the database, when ``SIGNING_KEYS`` does not pin them. Like every
    database check it runs with ``migrate`` and ``check --database ALIAS``, and only once the
    table exists: an error for each published key that no key-encryption key decrypts (it
    neither signs nor verifies), a warning when no key signs (the token endpoint answers 503
    ``temporarily_unavailable``) and one for keys stored unencrypted.
    """
    from twenty_oauth.conf import oauth_settings
    from twenty_oauth.models import SigningKey
    from twenty_oauth.protocol import key_encryption, keys

    if app_configs is not None and SigningKey._meta.app_config not in app_configs:
        return []
    if not databases or oauth_settings.SIGNING_KEYS or check_settings():
        return []  # no database to read, keys that are not in it, or settings to fix first
    alias = router.db_for_read(SigningKey)
    if alias not in databases:
        return []
    if SigningKey._meta.db_table not in connections[alias].introspection.table_names():
        return []  # not migrated yet: migrate creates the first key
    messages: list[checks.CheckMessage] = []
    rows = list(SigningKey.objects.using(alias).order_by("created_at"))
    for row in rows:
        if row.retired_at is not None:
            continue
        try:
            key_encryption.decrypt(row.private_key, row.kid)
        except key_encryption.KeyEncryptionError as exc:
            messages.append(
                checks.Error(
                    f"{exc} It neither signs nor verifies.",
                    hint="Put the key-encryption key it was encrypted with back in "
                    "TWENTY_OAUTH['KEY_ENCRYPTION_KEYS'], after the current one (or the old SECRET_KEY "
                    "in SECRET_KEY_FALLBACKS), then run 'manage.py oauth_keys reencrypt'.",
                    id="twenty_oauth.E026",
                )
            )
    if keys.signing_row(SigningKey, alias) is None:
        messages.append(
            checks.Warning(
                "No key in the database signs access tokens: the token endpoint answers 503 "
                "temporarily_unavailable.",
                hint="Run 'manage.py oauth_keys rotate' to create one ('migrate' creates one when none "
                "signs).",
                id="twenty_oauth.W011",
            )
        )
    messages.extend(_id_token_algorithms_without_keys(rows, alias))
    plain = [row.kid for row in rows if not key_encryption.is_encrypted(row.private_key)]
    if plain:
        messages.append(
            checks.Warning(
                f"Signing keys stored unencrypted: {', '.join(plain)}.",
                hint="Run 'manage.py oauth_keys reencrypt' to encrypt them.",
                id="twenty_oauth.W012",
            )
        )
    return messages


def _id_token_algorithms_without_keys(rows: list, alias: str) -> list[checks.CheckMessage]:
    """
    A warning when an active client registered an ``id_token_signed_response_alg`` that no
    unretired key signs with: its OpenID code exchanges answer 503 (OpenID Connect Core §3.1.3.7).
    """
    from twenty_oauth.models import Client

    held = {row.algorithm for row in rows if row.retired_at is None}
    wanted = set(
        Client.objects.using(alias)
        .filter(is_active=True)
        .exclude(id_token_signed_response_alg="")
        .values_list("id_token_signed_response_alg", flat=True)
        .distinct()
    )
    return [
        checks.Warning(
            f"Clients registered id_token_signed_response_alg {algorithm} and no key signs with it: "
            "their OpenID Connect code exchanges answer 503 temporarily_unavailable.",
            hint=f"Run 'manage.py oauth_keys create --algorithm {algorithm}' to publish one.",
            id="twenty_oauth.W015",
        )
        for algorithm in sorted(wanted - held)
    ]
