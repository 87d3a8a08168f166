"""
Audit signals. Every signal is sent with keyword arguments only, never a secret or a token.

- ``client_registered(client, ip)``
- ``consent_granted(client, user, scopes, ip)`` / ``consent_denied(client, user, scopes, ip)``
- ``tokens_issued(client, user, grant_type, scopes, ip)``; ``user`` is None for client credentials
- ``token_revoked(client, user, token_type, ip)``
- ``refresh_token_reused(client, user, ip)``: a spent refresh token came back; its family ended
- ``client_authentication_failed(client_id, reason, ip)``

The ``twenty_oauth`` logger records each of them (``logging.INFO``; failures at ``WARNING``).
"""

from __future__ import annotations

import logging

from django.dispatch import Signal, receiver

logger = logging.getLogger("twenty_oauth")

client_registered = Signal()
consent_granted = Signal()
consent_denied = Signal()
tokens_issued = Signal()
token_revoked = Signal()
refresh_token_reused = Signal()
client_authentication_failed = Signal()


def _log(level: int, event: str, client=None, user=None, client_id=None, **fields) -> None:
    fields = {
        "client_id": client.client_id if client is not None else client_id,
        "user_id": getattr(user, "pk", None),
        **fields,
    }
    text = " ".join(f"{name}={value}" for name, value in fields.items() if value not in (None, ""))
    logger.log(level, "%s %s", event, text, extra={"event": event, **fields})


@receiver(client_registered)
def _log_registered(sender, client, ip="", **kwargs):
    _log(logging.INFO, "client_registered", client, ip=ip)


@receiver(consent_granted)
def _log_granted(sender, client, user, scopes, ip="", **kwargs):
    _log(logging.INFO, "consent_granted", client, user, scopes=" ".join(scopes), ip=ip)


@receiver(consent_denied)
def _log_denied(sender, client, user, scopes, ip="", **kwargs):
    _log(logging.INFO, "consent_denied", client, user, scopes=" ".join(scopes), ip=ip)


@receiver(tokens_issued)
def _log_issued(sender, client, user, grant_type, scopes, ip="", **kwargs):
    _log(logging.INFO, "tokens_issued", client, user, grant_type=grant_type, scopes=" ".join(scopes), ip=ip)


@receiver(token_revoked)
def _log_revoked(sender, client, user=None, token_type="", ip="", **kwargs):
    _log(logging.INFO, "token_revoked", client, user, token_type=token_type, ip=ip)


@receiver(refresh_token_reused)
def _log_reused(sender, client, user=None, ip="", **kwargs):
    _log(logging.WARNING, "refresh_token_reused", client, user, ip=ip)


@receiver(client_authentication_failed)
def _log_auth_failed(sender, client_id, reason, ip="", **kwargs):
    _log(logging.WARNING, "client_authentication_failed", client_id=client_id, reason=reason, ip=ip)
