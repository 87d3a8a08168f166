"""
Seed what the benchmark's scenarios spend, through twenty-oauth's own functions.

Run with the benchmark's settings (``DJANGO_SETTINGS_MODULE=bench.settings``)::

    python -m bench.seed setup                 # migrate, user, companies, clients, bearer, session
    python -m bench.seed codes N FILE          # N fresh codes: one token request body a line
    python -m bench.seed refresh N FILE        # N fresh refresh tokens: one body a line
    python -m bench.seed bearers N FILE        # N distinct valid access tokens: one a line
    python -m bench.seed dpop_proofs N FILE    # a DPoP-bound token and N proofs: "token proof" a line
    python -m bench.seed assertions N FILE     # N private_key_jwt client-credentials bodies, one a line
    python -m bench.seed device_codes N FILE   # N pending device codes: one poll body a line
    python -m bench.seed scale CLIENTS TOKENS  # bulk rows: clients, expired access/refresh tokens

``setup`` prints a JSON object (the bearer token, the clients' credentials, the registration
body, the signed-in user's session cookie) that ``bench/run.py`` turns into wrk scripts. Each
body file line is used once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets as random_secrets
import sys
import time
from datetime import timedelta
from importlib import import_module
from urllib.parse import quote, urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402
import jwt  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from jwt.algorithms import ECAlgorithm  # noqa: E402

from example_project.companies.models import Company  # noqa: E402
from twenty_oauth import writes  # noqa: E402
from twenty_oauth.conf import oauth_settings  # noqa: E402
from twenty_oauth.models import AccessToken, Client, RefreshToken, TokenFamily  # noqa: E402
from twenty_oauth.protocol import authorization, clients, device_authorization, dpop, tokens  # noqa: E402
from twenty_oauth.protocol.client_assertions import ASSERTION_TYPE  # noqa: E402
from twenty_oauth.protocol.client_metadata import validate_metadata  # noqa: E402
from twenty_oauth.protocol.discovery import DEVICE_CODE_GRANT, Site  # noqa: E402
from twenty_oauth.protocol.keys import keyring  # noqa: E402
from twenty_oauth.protocol.parameters import Params  # noqa: E402

REDIRECT_URI = "https://app.example.com/callback"
CODE_CLIENT = "bench code client"
DEVICE_CLIENT = "bench device client"
BASIC_CLIENT = "bench basic client"
KEY_CLIENT = "bench private_key_jwt client"
#: The private_key_jwt client's key, the same in every process that seeds: a bench fixture, not
#: a secret (the scalar is a digest of a fixed text, so setup and each seeding agree on it).
#: 255 bits: below the order of P-256, as a private scalar must be.
_BENCH_SCALAR = int.from_bytes(hashlib.sha256(b"twenty-oauth bench assertion key").digest(), "big") >> 1
KEY_KID = "bench-es256"
COMPANIES = [
    ("Airbnb", "airbnb.com", 6800, "San Francisco"),
    ("Anthropic", "anthropic.com", 1000, "San Francisco"),
    ("Figma", "figma.com", 1500, "San Francisco"),
    ("GitLab", "gitlab.com", 2100, "Remote"),
    ("Linear", "linear.app", 80, "San Francisco"),
    ("Notion", "notion.so", 600, "San Francisco"),
    ("Qonto", "qonto.com", 1600, "Paris"),
    ("Sentry", "sentry.io", 500, "San Francisco"),
    ("Stripe", "stripe.com", 8000, "Dublin"),
    ("Twenty", "twenty.com", 40, "Paris"),
]
REGISTRATION = {
    "client_name": "Bench Integration",
    "redirect_uris": [REDIRECT_URI],
    "grant_types": ["authorization_code"],
    "token_endpoint_auth_method": "client_secret_post",
}


def pkce_pair() -> tuple[str, str]:
    verifier = random_secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _bench_key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(_BENCH_SCALAR, ec.SECP256R1())


def _client(name: str, method: str, grants: list[str], **extra) -> tuple[Client, str | None]:
    fields = validate_metadata(
        {
            "client_name": name,
            "redirect_uris": [REDIRECT_URI] if "authorization_code" in grants else [],
            "grant_types": grants,
            "token_endpoint_auth_method": method,
            **extra,
        }
    )
    # "command": a client an operator made, allowed to use client_credentials.
    return clients.create_client(fields, source=Client.Source.COMMAND)


def setup() -> dict:
    call_command("migrate", verbosity=0, interactive=False)
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"email": "bench@example.com", "first_name": "Bench"}
    )
    if not Company.objects.exists():  # the example's migration seeds its demo companies
        Company.objects.bulk_create(
            Company(name=n, domain_name=d, employees=e, city=c) for n, d, e, c in COMPANIES
        )
    keyring.clear()
    keyring.signing_key()  # migrate made the first key: a bench without one stops here
    with transaction.atomic():
        post, post_secret = _client(
            CODE_CLIENT, "client_secret_post", ["authorization_code", "client_credentials"]
        )
        basic, basic_secret = _client(BASIC_CLIENT, "client_secret_basic", ["client_credentials"])
        public_jwk = ECAlgorithm.to_jwk(_bench_key().public_key(), as_dict=True)
        _client(
            KEY_CLIENT,
            "private_key_jwt",
            ["client_credentials"],
            jwks={"keys": [{**public_jwk, "kid": KEY_KID}]},
            token_endpoint_auth_signing_alg="ES256",
        )
        # A command line's client: public, for the device grant (RFC 8628) and refresh tokens.
        _client(DEVICE_CLIENT, "none", [DEVICE_CODE_GRANT, "refresh_token"])
        family = TokenFamily.objects.create(client=post, user=user, scope="api", resource=[])
        issued = tokens.token_response(
            issuer=oauth_settings.ISSUER,
            client=post,
            user=user,
            scopes=["api"],
            audience=[oauth_settings.DEFAULT_RESOURCE or oauth_settings.ISSUER],
            family=family,
            refresh=False,
        )
    basic_pair = f"{quote(basic.client_id, safe='')}:{quote(basic_secret, safe='')}".encode()
    return {
        "bearer": issued.body["access_token"],
        "post_client_id": post.client_id,
        "post_client_secret": post_secret,
        "basic_authorization": "Basic " + base64.b64encode(basic_pair).decode("ascii"),
        "redirect_uri": REDIRECT_URI,
        "registration": json.dumps(REGISTRATION),
        "companies": list(Company.objects.values_list("name", flat=True)),
        "session_cookie": _session_cookie(user),
    }


def _session_cookie(user) -> str:
    """A ``Cookie`` header value that signs ``user`` in, as the login form would (scenario i2)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def _code_client() -> Client:
    return Client.objects.filter(client_name=CODE_CLIENT).latest("created_at")


def codes(count: int, path: str, secret: str) -> None:
    """Fresh codes with their PKCE verifiers, issued as the consent page would issue them."""
    client = _code_client()
    user = get_user_model().objects.get(username="bench")
    target = authorization.Target(client=client, redirect_uri=REDIRECT_URI, redirect_uri_sent=True)
    lines = []
    with transaction.atomic():
        for _ in range(count):
            verifier, challenge = pkce_pair()
            areq = authorization.AuthorizationRequest(
                target=target,
                issuer=oauth_settings.ISSUER,
                state=None,
                scopes=["api"],
                code_challenge=challenge,
            )
            code = authorization.issue_code(areq, user)
            body = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": client.client_id,
                "client_secret": secret,
                "code_verifier": verifier,
            }
            lines.append(urlencode(body))
    _write(path, lines)


def _refresh_tokens(count: int) -> tuple[Client, list[str]]:
    """Fresh refresh tokens, each the head of its own grant, as a code exchange leaves them."""
    client = _code_client()
    user = get_user_model().objects.get(username="bench")
    now = timezone.now()
    values = []
    with transaction.atomic():
        for _ in range(count):
            family = TokenFamily.objects.create(
                client=client, user=user, scope="api", resource=[], created_at=now
            )
            value, record = tokens.refresh_token(["api"], now)
            writes.issue(family, [record])
            values.append(value)
    return client, values


def refresh(count: int, path: str, secret: str) -> None:
    """Refresh requests, one a fresh refresh token."""
    client, values = _refresh_tokens(count)
    lines = [
        urlencode(
            {
                "grant_type": "refresh_token",
                "refresh_token": value,
                "client_id": client.client_id,
                "client_secret": secret,
            }
        )
        for value in values
    ]
    _write(path, lines)


def revocations(count: int, path: str, secret: str) -> None:
    """Revocation requests (RFC 7009), each for a fresh refresh token and so its whole grant."""
    client, values = _refresh_tokens(count)
    lines = [
        urlencode(
            {
                "token": value,
                "token_type_hint": "refresh_token",
                "client_id": client.client_id,
                "client_secret": secret,
            }
        )
        for value in values
    ]
    _write(path, lines)


def bearers(count: int, path: str) -> dict:
    """
    Distinct access tokens for the bench user, valid for the API, minted as a code exchange
    mints them. Unlike codes and refresh tokens they are not spent: scenario (b2) sends them in
    turn, round and round, so that each process sees too many to keep their verified claims.
    """
    client = _code_client()
    user = get_user_model().objects.get(username="bench")
    now = timezone.now()
    audience = [oauth_settings.DEFAULT_RESOURCE or oauth_settings.ISSUER]
    lines = []
    with transaction.atomic():
        family = TokenFamily.objects.create(
            client=client, user=user, scope="api", resource=[], created_at=now
        )
        for _ in range(count):
            token, lifetime, record = tokens.access_token(
                issuer=oauth_settings.ISSUER,
                client=client,
                user=user,
                scopes=["api"],
                audience=audience,
                now=now,
            )
            writes.issue(family, [record])
            lines.append(token)
    _write(path, lines)
    return {"expires_at": now.timestamp() + lifetime}


def dpop_proofs(count: int, path: str) -> None:
    """
    One access token bound to a DPoP key (RFC 9449 §6.1) and ``count`` proofs of that key for
    ``GET /rest/constant`` on the issuer's origin, each with its own ``jti``: a line is the token
    and a proof, sent once each by scenario (b3).
    """
    client = _code_client()
    user = get_user_model().objects.get(username="bench")
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    now = timezone.now()
    with transaction.atomic():
        family = TokenFamily.objects.create(
            client=client, user=user, scope="api", resource=[], created_at=now
        )
        token, _, record = tokens.access_token(
            issuer=oauth_settings.ISSUER,
            client=client,
            user=user,
            scopes=["api"],
            audience=[oauth_settings.DEFAULT_RESOURCE or oauth_settings.ISSUER],
            now=now,
            jkt=dpop.thumbprint(jwk),
        )
        writes.issue(family, [record])
    claims = {"htm": "GET", "htu": Site.configured().origin + "/rest/constant", "iat": int(time.time())}
    claims["ath"] = dpop.token_hash(token)
    header = {"typ": dpop.PROOF_TYPE, "jwk": jwk}
    lines = [
        f"{token} {jwt.encode({**claims, 'jti': random_secrets.token_urlsafe(16)}, private, 'ES256', header)}"
        for _ in range(count)
    ]
    _write(path, lines)


def assertions(count: int, path: str) -> None:
    """
    Client-credentials requests authenticated by private_key_jwt (RFC 7523 §2.2), each with an
    assertion of its own: a ``jti`` is accepted once. They live as long as the server allows
    (``CLIENT_ASSERTION_MAX_LIFETIME``), seeded just before the run that spends them.
    """
    client_id = Client.objects.filter(client_name=KEY_CLIENT).latest("created_at").client_id
    key = _bench_key()
    now = int(time.time())
    lines = []
    for _ in range(count):
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": oauth_settings.ISSUER,
            "iat": now,
            "exp": now + oauth_settings.CLIENT_ASSERTION_MAX_LIFETIME,
            "jti": random_secrets.token_urlsafe(16),
        }
        assertion = jwt.encode(claims, key, algorithm="ES256", headers={"kid": KEY_KID})
        body = {
            "grant_type": "client_credentials",
            "scope": "api",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        lines.append(urlencode(body))
    _write(path, lines)


def device_codes(count: int, path: str) -> dict:
    """
    Pending device authorizations (RFC 8628 §3.2), asked for as the endpoint asks for them;
    each line the body of a device's poll. Like (b2)'s tokens they are not spent: scenario (p)
    polls them in turn, round and round, and no one ever approves them.
    """
    client = Client.objects.filter(client_name=DEVICE_CLIENT).latest("created_at")
    site = Site.configured()
    lines = []
    started = time.time()
    with transaction.atomic():
        for _ in range(count):
            answer = device_authorization.start(Params(scope="api"), client, site=site)
            lines.append(
                urlencode(
                    {
                        "grant_type": DEVICE_CODE_GRANT,
                        "device_code": answer["device_code"],
                        "client_id": client.client_id,
                    }
                )
            )
    _write(path, lines)
    return {"expires_at": started + oauth_settings.DEVICE_CODE_LIFETIME}


def _write(path: str, lines: list[str]) -> None:
    with open(path, "w", encoding="ascii") as out:
        out.write("\n".join(lines) + "\n")


# --- scale: rows made in the database itself, a million at a time ---------------------------


def _sequence_insert(model, count: int, template, expressions: dict[str, str]) -> None:
    """
    Insert ``count`` rows of ``model`` in one statement: every column from ``template`` except
    those in ``expressions``, SQL computed from the row number ``n`` (1..count).
    """
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in expressions:
            values.append(expressions[field.column])
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(getattr(template, field.attname), connection))
    table = connection.ops.quote_name(model._meta.db_table)
    select = ", ".join(values)
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT {select} FROM generate_series(1, {count}) AS s(n)"
        )
    else:
        sql = (
            f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) "
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM s"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _random_hex(nbytes: int) -> str:
    if connection.vendor == "postgresql":
        parts = ["md5(random()::text || n::text)"] * ((nbytes + 15) // 16)
        return f"substr({' || '.join(parts)}, 1, {nbytes * 2})"
    return f"lower(hex(randomblob({nbytes})))"


def _hex_ms(start) -> str:
    """SQL for ``start`` plus ``n`` ms in 12 hex digits: a ``jti``'s head (see opaque.generate_token_id)."""
    ms = int(start.timestamp() * 1000)
    if connection.vendor == "postgresql":
        return f"lpad(to_hex({ms}::bigint + n), 12, '0')"
    return f"printf('%%012x', {ms} + n)"


def _max_id(model) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def scale(clients: int, token_rows: int) -> dict:
    """
    ``clients`` registered clients, one grant each, and ``token_rows`` expired access tokens and
    as many expired refresh tokens spread over those grants: the rows a busy server accumulates
    between two cleanups.
    """
    started = time.monotonic()
    user = get_user_model().objects.get(username="bench")
    now = timezone.now()
    expired = now - timedelta(days=1)
    created = now - timedelta(days=2)
    with transaction.atomic():
        client_base = _max_id(Client)
        template = Client(
            client_secret_digest="0" * 64,
            client_name="scale client",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="client_secret_post",
            source=Client.Source.DYNAMIC,
            created_at=created,
        )
        _sequence_insert(
            Client,
            clients,
            template,
            {
                "client_id": f"'scale-' || n || '-' || {_random_hex(6)}",
                "client_secret_digest": _random_hex(32),
            },
        )
        family_base = _max_id(TokenFamily)
        _sequence_insert(
            TokenFamily,
            clients,
            TokenFamily(client_id=client_base + 1, user=user, scope="api", resource=[], created_at=created),
            {"client_id": f"{client_base} + n"},
        )
        _sequence_insert(
            AccessToken,
            token_rows,
            AccessToken(
                jti="",
                family_id=family_base + 1,
                client_id=client_base + 1,
                user=user,
                scope="api",
                audience=[oauth_settings.ISSUER],
                created_at=created,
                expires_at=expired,
            ),
            {
                "jti": f"{_hex_ms(created)} || {_random_hex(10)}",
                "family_id": f"{family_base} + 1 + (n %% {clients})",
                "client_id": f"{client_base} + 1 + (n %% {clients})",
            },
        )
        _sequence_insert(
            RefreshToken,
            token_rows,
            RefreshToken(
                token_digest="",
                family_id=family_base + 1,
                scope="api",
                created_at=created,
                expires_at=expired,
                used_at=created,
            ),
            {"token_digest": _random_hex(32), "family_id": f"{family_base} + 1 + (n %% {clients})"},
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("ANALYZE")
    return {
        "clients": Client.objects.count(),
        "access_tokens": AccessToken.objects.count(),
        "refresh_tokens": RefreshToken.objects.count(),
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "setup":
        print(json.dumps(setup()))
    elif command == "codes":
        codes(int(argv[1]), argv[2], argv[3])
    elif command == "refresh":
        refresh(int(argv[1]), argv[2], argv[3])
    elif command == "revocations":
        revocations(int(argv[1]), argv[2], argv[3])
    elif command == "dpop_proofs":
        dpop_proofs(int(argv[1]), argv[2])  # the client secret that follows is not needed
    elif command == "assertions":
        assertions(int(argv[1]), argv[2])  # the client secret that follows is not needed
    elif command == "bearers":
        print(json.dumps(bearers(int(argv[1]), argv[2])))
    elif command == "device_codes":
        print(json.dumps(device_codes(int(argv[1]), argv[2])))
    elif command == "scale":
        print(json.dumps(scale(int(argv[1]), int(argv[2]))))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
