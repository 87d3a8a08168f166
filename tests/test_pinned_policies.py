"""
The JSON endpoints answer the same whatever the host's ``REST_FRAMEWORK`` says: each process
starts with its settings, so DRF's class defaults are the host's from the first import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent


SIGNING_KEY = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)


def answers(settings_module: str) -> list[dict]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "TWENTY_TEST_SIGNING_KEY": SIGNING_KEY}
    env.pop("TWENTY_DB", None)  # an in-memory SQLite database of the child's own
    result = subprocess.run(
        [sys.executable, "-m", "tests.endpoint_answers"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def plain() -> list[dict]:
    return answers("tests.settings")


@pytest.fixture(scope="module")
def hostile() -> list[dict]:
    return answers("tests.hostile_settings")


EXPECTED = {
    "server metadata": 200,
    "server metadata, Accept html": 200,
    "server metadata, POST": 405,
    "resource metadata": 200,
    "jwks": 200,
    "jwks, HEAD": 200,
    "token preflight": 204,
    "introspection preflight": 405,
    "token, GET": 405,
    "token, no body": 400,
    "token, JSON body": 400,
    "token, query": 400,
    "token, repeated": 400,
    "token, NUL": 400,
    "token, not UTF-8": 400,
    "token, too large": 413,
    "token, bad grant": 400,
    "token, wrong secret": 401,
    "client credentials": 200,
    "client credentials, Accept html": 200,
    "register": 201,
    "register, form body": 400,
    "register, bad redirect": 400,
    "register, number for text": 400,
    "register, not an object": 400,
    "register, deep": 400,
    "code exchange": 200,
    "refresh": 200,
    "userinfo": 200,
    "userinfo, POST": 200,
    "userinfo, no token": 401,
    "userinfo, bad token": 401,
    "introspection": 200,
    "introspection, public client": 401,
    "revocation": 200,
    "revocation, no token": 400,
    "configuration, read": 200,
    "configuration, read without a token": 401,
    "configuration, read with a wrong token": 401,
    "configuration, POST": 405,
    "configuration, preflight": 204,
    "configuration, form body": 400,
    "configuration, another client_id": 400,
    "configuration, update": 200,
    "configuration, update with the spent token": 401,
    "configuration, delete": 204,
    "configuration, read once deleted": 401,
    "device authorization": 200,
    "device authorization, JSON body": 400,
    "device authorization, query": 400,
    "device authorization, not registered for it": 400,
    "device poll, pending": 400,
    "device poll, approved": 200,
}


def test_the_series_gets_the_rfc_answers(plain):
    assert {a["name"]: a["status"] for a in plain} == EXPECTED
    for answer in plain:
        if answer["status"] >= 400:
            body = json.loads(answer["body"])
            assert set(body) <= {"error", "error_description"}, answer
            assert body["error"] in (
                "invalid_request",
                "invalid_client",
                "unsupported_grant_type",
                "invalid_client_metadata",
                "invalid_redirect_uri",
                "invalid_token",
                "unauthorized_client",
                "authorization_pending",
            )
            assert answer["headers"]["Cache-Control"] == "no-store", answer
    by_name = {a["name"]: a for a in plain}
    assert by_name["token, GET"]["headers"]["Allow"] == "POST, OPTIONS"
    assert by_name["token preflight"]["headers"]["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert by_name["token preflight"]["body"] == ""
    assert by_name["jwks"]["headers"]["Content-Type"] == "application/jwk-set+json"
    assert by_name["client credentials"]["headers"]["Content-Type"] == "application/json"
    assert by_name["client credentials"]["headers"]["Pragma"] == "no-cache"
    assert by_name["register"]["body"].startswith('{"client_id": "<fresh>"')
    assert '"client_name": "Café"' in by_name["register"]["body"]  # not \u-escaped
    assert by_name["userinfo, no token"]["headers"]["WWW-Authenticate"].startswith(
        "Bearer resource_metadata="
    )
    # RFC 7592: the registration answer says where and with what the client manages itself.
    assert '"registration_access_token": "<fresh>"' in by_name["register"]["body"]
    assert (
        '"registration_client_uri": "http://testserver/oauth/register/<fresh>"' in by_name["register"]["body"]
    )
    assert '"registration_access_token"' not in by_name["configuration, read"]["body"]
    assert '"client_name": "Café 2"' in by_name["configuration, update"]["body"]
    assert '"registration_access_token": "<fresh>"' in by_name["configuration, update"]["body"]
    for name in ("configuration, read without a token", "configuration, update with the spent token"):
        assert by_name[name]["headers"]["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert by_name["configuration, POST"]["headers"]["Allow"] == "GET, PUT, DELETE, OPTIONS"
    assert by_name["configuration, preflight"]["headers"]["Access-Control-Allow-Methods"] == (
        "GET, PUT, DELETE, OPTIONS"
    )
    assert by_name["configuration, delete"]["body"] == ""
    assert (
        json.loads(by_name["device authorization"]["body"])["verification_uri"]
        == "http://testserver/oauth/device"
    )
    assert json.loads(by_name["device poll, pending"]["body"])["error"] == "authorization_pending"
    assert json.loads(by_name["device poll, approved"]["body"])["token_type"] == "Bearer"


def test_a_hostile_rest_framework_setting_changes_no_answer(plain, hostile):
    assert [a["name"] for a in hostile] == [a["name"] for a in plain]
    for mine, theirs in zip(plain, hostile, strict=True):
        assert theirs == mine
