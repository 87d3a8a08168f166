"""
Audit signals. Every signal is sent with keyword arguments only, never a secret or a token.

- ``client_registered(client, ip)``: dynamic registration, Django admin or ``oauth_create_client``
  (``client.source`` says which; ``ip`` is empty for the command)
- ``client_updated(client, fields, ip)``: the client replaced its metadata at its configuration
  endpoint (RFC 7592 §2.2), or staff saved it in the admin; ``fields`` names what changed
- ``client_deleted(client, ip)``: the client deleted itself at its configuration endpoint (RFC
  7592 §2.3: deactivated, every grant ended), or staff deleted it in the admin
- ``consent_granted(client, user, scopes, ip)`` / ``consent_denied(client, user, scopes, ip)``
- ``consent_revoked(client, user, ip)``: the user (authorized-apps page) or staff (admin) ended it
- ``tokens_issued(client, user, grant_type, scopes, ip)``; ``user`` is None for client credentials
- ``token_revoked(client, user, token_type, ip)``; ``token_type`` is ``access_token`` or
  ``refresh_token`` at /oauth/revoke, ``all`` when staff revoke every token of a client
- ``refresh_token_reused(client, user, ip)``: a spent refresh token came back; its family ended
- ``client_authentication_failed(client_id, reason, ip)``

A user saved as inactive loses every grant at once (tokens revoked, pending codes expired), so
that reactivating the account does not bring old tokens back.

The ``twenty_oauth`` logger records each of them: ``logging.INFO``, and ``WARNING`` for reuse and
failed authentication. A record carries ``event``, ``client_id``, ``user_id``, ``ip`` and the
other fields as attributes, for a structured formatter.
"""

from __future__ import annotations

import json
import logging

from django.dispatch import Signal, receiver

logger = logging.getLogger("twenty_oauth")

client_registered = Signal()
client_updated = Signal()
client_deleted = Signal()
consent_granted = Signal()
consent_denied = Signal()
consent_revoked = Signal()
tokens_issued = Signal()
token_revoked = Signal()
refresh_token_reused = Signal()
client_authentication_failed = Signal()

#: Longest value written to a log line: a client_id sent by anyone must not flood the log.
MAX_LOGGED = 200


def printable(value) -> str:
    """One line of text: control characters escaped so that a value cannot forge a log line."""
    text = str(value)
    if len(text) > MAX_LOGGED:
        text = text[:MAX_LOGGED] + "…"
    if text.isprintable() and " " not in text and '"' not in text:
        return text
    return json.dumps(text)


def _log(level: int, event: str, client=None, user=None, client_id=None, **fields) -> None:
    fields = {
        "client_id": client.client_id if client is not None else client_id,
        "user_id": getattr(user, "pk", None),
        **fields,
    }
    shown = {name: value for name, value in fields.items() if value not in (None, "")}
    text = " ".join(f"{name}={printable(value)}" for name, value in shown.items())
    logger.log(level, "%s %s", event, text, extra={"event": event, **fields})


@receiver(client_registered)
def _log_registered(sender, client, ip="", **kwargs):
    _log(logging.INFO, "client_registered", client, source=client.source, ip=ip)


@receiver(client_updated)
def _log_updated(sender, client, fields, ip="", **kwargs):
    _log(logging.INFO, "client_updated", client, fields=",".join(fields), ip=ip)


@receiver(client_deleted)
def _log_deleted(sender, client, ip="", **kwargs):
    _log(logging.INFO, "client_deleted", client, source=client.source, ip=ip)


@receiver(consent_granted)
def _log_granted(sender, client, user, scopes, ip="", **kwargs):
    _log(logging.INFO, "consent_granted", client, user, scopes=" ".join(scopes), ip=ip)


@receiver(consent_denied)
def _log_denied(sender, client, user, scopes, ip="", **kwargs):
    _log(logging.INFO, "consent_denied", client, user, scopes=" ".join(scopes), ip=ip)


@receiver(consent_revoked)
def _log_consent_revoked(sender, client, user, ip="", **kwargs):
    _log(logging.INFO, "consent_revoked", client, user, ip=ip)


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
