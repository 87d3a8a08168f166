"""
The token endpoint's grants (RFC 6749 §4-§6, RFC 8628 §3.4). Each module has two functions:

- ``find(params)``: the grant the parameters present (a code, a refresh token, a device code),
  read in one query with the client it was issued to, or ``NOTHING``. It raises nothing: the
  client is authenticated first, and a missing parameter is the grant's error after that
  (RFC 6749 §5.2 precedence). Client authentication takes the client read here in place of
  reading it again when it is the client presenting the grant: a round trip less.
- ``exchange(params, client, presented, ...)``: the checks, then the tokens.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django.db.models import Model

from twenty_oauth.lookups import JoinedLookup, fields_of
from twenty_oauth.models import Client
from twenty_oauth.protocol import opaque


class Presented(NamedTuple):
    """A grant's row as ``find`` read it (None: no such grant), with the client it was issued to."""

    record: Any = None
    client: Client | None = None


NOTHING = Presented()


def with_client(model: type[Model], field: str) -> JoinedLookup:
    """
    The lookup of a single-use grant (a code, a device code) by the digest stored in ``field``:
    with its user, and with its client as client authentication reads one
    (``Client.authentication_fields``).
    """
    only = (*fields_of(model), *Client.authentication_fields("client__"))
    return JoinedLookup(model, field, ("user", "client"), only=only)


def by_digest(lookup: JoinedLookup, value: str | None) -> Presented:
    """What ``lookup`` finds by the digest of the presented ``value`` (None: not sent)."""
    record = lookup.get(opaque.digest(value)) if value is not None else None
    return NOTHING if record is None else Presented(record, record.client)
