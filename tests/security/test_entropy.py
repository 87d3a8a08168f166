"""
Entropy (RFC 6749 §10.10, RFC 9700 §4): every code, token, client id and secret carries at least
128 bits (256 for secrets) from the URL-safe alphabet, an access token's ``jti`` 80 random bits
after its time of issue, and what is secret is stored only as a digest (RFC 6749 §10.3-§10.5).
"""

from __future__ import annotations

import math
import re
import time

import jwt
import pytest
from django.db import connection

from tests.conftest import REDIRECT, code_tokens, obtain_code
from tests.security.conftest import register
from twenty_oauth.models import Client

pytestmark = pytest.mark.django_db

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")
SAMPLES = 24


def bits(values: list[str]) -> float:
    """
    The entropy each value can carry: its length times log2 of the alphabet the samples use.
    With enough samples a random base64url value shows all 64 symbols, so this is 6 bits a
    character; a value drawn from a smaller alphabet (hex, digits) is caught.
    """
    assert all(URL_SAFE.fullmatch(v) for v in values), values
    alphabet = len(set("".join(values)))
    return min(len(v) for v in values) * math.log2(alphabet)


def registrations(http, n: int) -> list[dict]:
    bodies = []
    for _ in range(n):
        response = register(http, {"redirect_uris": [REDIRECT], "client_name": "E"})
        assert response.status_code == 201
        bodies.append(response.json())
    return bodies


def test_rfc6749_10_10_client_ids_carry_128_bits(client):
    ids = [body["client_id"] for body in registrations(client, SAMPLES)]
    assert len(set(ids)) == SAMPLES
    assert bits(ids) >= 128


def test_rfc6749_10_10_client_secrets_carry_256_bits(client):
    secrets = [body["client_secret"] for body in registrations(client, SAMPLES)]
    assert len(set(secrets)) == SAMPLES
    assert bits(secrets) >= 256


def test_rfc6749_10_10_authorization_codes_carry_128_bits(client, user, confidential):
    oauth_client, _ = confidential
    codes = [obtain_code(client, user, oauth_client) for _ in range(SAMPLES)]
    assert len(set(codes)) == SAMPLES
    assert bits(codes) >= 128


def test_rfc6749_10_10_refresh_tokens_carry_128_bits(client, user, confidential):
    oauth_client, secret = confidential
    bodies = [code_tokens(client, user, oauth_client, secret) for _ in range(SAMPLES)]
    values = [body["refresh_token"] for body in bodies]
    assert len(set(values)) == SAMPLES
    assert bits(values) >= 128


def test_rfc9068_2_2_access_token_ids_carry_80_random_bits(client, user, confidential):
    """
    A ``jti`` (RFC 7519 §4.1.7) is 32 hex digits ordered as a UUIDv7 is (RFC 9562 §5.7): 48 bits
    of Unix milliseconds, which anyone can guess, then 80 random bits. Only those are measured.
    """
    oauth_client, secret = confidential
    before_ms = time.time_ns() // 1_000_000
    tokens = [code_tokens(client, user, oauth_client, secret)["access_token"] for _ in range(SAMPLES)]
    after_ms = time.time_ns() // 1_000_000
    jtis = [jwt.decode(token, options={"verify_signature": False})["jti"] for token in tokens]
    assert all(re.fullmatch(r"[0-9a-f]{32}", jti) for jti in jtis), jtis
    assert len(set(jtis)) == SAMPLES
    issued_ms = [int(jti[:12], 16) for jti in jtis]
    assert all(before_ms <= ms <= after_ms for ms in issued_ms), (before_ms, issued_ms, after_ms)
    assert issued_ms == sorted(issued_ms)
    random_parts = [jti[12:] for jti in jtis]
    assert len(set(random_parts)) == SAMPLES
    assert bits(random_parts) >= 80
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", t) for t in tokens)


def test_rfc6749_10_4_secrets_are_stored_only_as_digests(client, user):
    """Neither the client secret, the code, nor the refresh token is anywhere in the database."""
    body = registrations(client, 1)[0]
    oauth_client = Client.objects.get(client_id=body["client_id"])
    code = obtain_code(client, user, oauth_client)
    tokens = code_tokens(client, user, oauth_client, body["client_secret"])
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table.startswith("twenty_oauth_"):
                cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from the schema
                dump.extend(str(row) for row in cursor.fetchall())
    text = "\n".join(dump)
    assert body["client_id"] in text  # the dump is real
    for secret in (body["client_secret"], code, tokens["refresh_token"]):
        assert secret not in text
