"""
factory-boy factories, one for each model, for tests that need rows rather than a flow.

Secrets, codes and refresh tokens are generated as the server generates them and stored only as
their SHA-256 digest, as the server stores them. The clear value is never kept on the row: the
``with_secret``, ``with_code``, ``with_codes`` and ``with_token`` class methods return the row and its value
together. ``make_client`` stays the way to make a client through registration's own validation.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from typing import Any

import factory
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory import SelfAttribute
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from twenty_oauth.conf import oauth_settings
from twenty_oauth.models import (
    AccessToken,
    AuthorizationCode,
    Client,
    Consent,
    DeviceGrant,
    RefreshToken,
    SigningKey,
    Subject,
    TokenFamily,
)
from twenty_oauth.protocol import clients, key_encryption, keys, opaque, pkce
from twenty_oauth.protocol.client_metadata import validate_metadata
from twenty_oauth.protocol.device_authorization import generate_user_code
from twenty_oauth.protocol.discovery import DEVICE_CODE_GRANT
from twenty_oauth.protocol.tokens import ACCESS_TOKEN_TYPE, audience_claim

ISSUER = "http://testserver"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"
    password = factory.PostGenerationMethodCall("set_password", "pw")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_client(source=Client.Source.ADMIN, **metadata):
    """A client and its secret, made through the same validation as registration."""
    metadata.setdefault("client_name", "Test App")
    metadata.setdefault("redirect_uris", ["https://app.example.com/callback"])
    metadata.setdefault("token_endpoint_auth_method", "client_secret_post")
    extra = {
        k: metadata.pop(k)
        for k in ("client_credentials_allowed", "introspection_allowed", "is_active")
        if k in metadata
    }
    fields = validate_metadata(metadata, source=source)
    fields.update(extra)
    return clients.create_client(fields, source=source)


class ClientFactory(factory.django.DjangoModelFactory):
    """
    A confidential client (``client_secret_post``) written straight to the table, without
    registration's validation: for rows a test shapes by hand. ``ClientFactory(public=True)``
    makes a public client, which has no secret.
    """

    class Meta:
        model = Client

    class Params:
        secret = factory.LazyFunction(opaque.generate_secret)
        public = factory.Trait(token_endpoint_auth_method=Client.AuthMethod.NONE, client_secret_digest="")
        #: ``ClientFactory(private_key_jwt=True, jwks=key.jwks())``: keys, no secret (RFC 7523 §2.2).
        private_key_jwt = factory.Trait(
            token_endpoint_auth_method=Client.AuthMethod.PRIVATE_KEY_JWT,
            client_secret_digest="",
            jwks=factory.LazyFunction(lambda: ClientKey().jwks()),
        )

    client_id = factory.LazyFunction(opaque.generate_client_id)
    client_secret_digest = factory.LazyAttribute(lambda o: opaque.digest(o.secret))
    client_name = factory.Sequence(lambda n: f"App {n}")
    redirect_uris = factory.LazyFunction(lambda: ["https://app.example.com/callback"])
    grant_types = factory.LazyFunction(lambda: ["authorization_code", "refresh_token"])
    response_types = factory.LazyFunction(lambda: ["code"])
    token_endpoint_auth_method = Client.AuthMethod.CLIENT_SECRET_POST

    @classmethod
    def with_secret(cls, **kwargs: Any) -> tuple[Client, str]:
        """A confidential client and its secret (RFC 6749 §2.3.1), of which only the digest is stored."""
        secret = opaque.generate_secret()
        return cls(secret=secret, **kwargs), secret

    @classmethod
    def with_registration_token(cls, **kwargs: Any) -> tuple[Client, str]:
        """
        A dynamically registered client and its registration access token (RFC 7592 §3), of
        which only the digest is stored.
        """
        token = opaque.generate_secret()
        kwargs.setdefault("source", Client.Source.DYNAMIC)
        return cls(registration_access_token_digest=opaque.digest(token), **kwargs), token


#: A JWS signer that also knows RFC 9864's name for EdDSA on Ed25519, as WebCrypto signs.
_signer = jwt.api_jws.PyJWS()
_signer.register_algorithm("Ed25519", OKPAlgorithm())


class ClientKey:
    """
    A ``private_key_jwt`` client's key pair (RFC 7523 §2.2): the private half signs assertions
    as a client would, the public half is what the client registers in its ``jwks``.
    """

    GENERATORS = {
        "ES256": (lambda: ec.generate_private_key(ec.SECP256R1()), ECAlgorithm),
        "RS256": (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), RSAAlgorithm),
        "PS256": (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), RSAAlgorithm),
        "EdDSA": (ed25519.Ed25519PrivateKey.generate, OKPAlgorithm),
        "Ed25519": (ed25519.Ed25519PrivateKey.generate, OKPAlgorithm),  # RFC 9864's name for it
    }

    def __init__(self, alg: str = "ES256", kid: str | None = "", private_key: Any = None) -> None:
        generate, self.codec = self.GENERATORS[alg]
        self.alg = alg
        self.private_key = private_key or generate()
        self.kid = secrets.token_hex(8) if kid == "" else kid

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public JWK (RFC 7517 §4), with its ``kid`` when it has one."""
        jwk = self.codec.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid} if self.kid else jwk

    @property
    def private_jwk(self) -> dict[str, Any]:
        """The whole key pair as a JWK: what a client must never publish."""
        jwk = self.codec.to_jwk(self.private_key, as_dict=True)
        return {**jwk, "kid": self.kid} if self.kid else jwk

    def jwks(self, *others: ClientKey) -> dict[str, Any]:
        """A JWK Set (RFC 7517 §5) of this key's public half and the others'."""
        return {"keys": [key.public_jwk for key in (self, *others)]}

    def assertion(
        self, client_id: str, *, audience: Any = ISSUER, headers: dict | None = None, **claims: Any
    ) -> str:
        """
        A client assertion (RFC 7523 §3) for ``client_id``: ``iss`` and ``sub`` the client,
        ``aud`` the issuer, a minute to live from the server's clock, a fresh ``jti``. A claim
        given as None is left out.
        """
        now = int(timezone.now().timestamp())
        body = {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
            **claims,
        }
        body = {name: value for name, value in body.items() if value is not None}
        header = {"kid": self.kid} if self.kid else {}
        header.update(headers or {})
        # Signed as a JWS over the claims' JSON, whatever their types: an attacker's claims need
        # not be ones that PyJWT's JWT encoder lets through.
        payload = json.dumps(body).encode()
        return _signer.encode(payload, self.private_key, algorithm=self.alg, headers=header)


def make_key_client(
    key: ClientKey | None = None, source=Client.Source.ADMIN, **metadata
) -> tuple[Client, ClientKey]:
    """
    A ``private_key_jwt`` client registered with ``key``'s public JWK Set (a new ES256 key by
    default), made through registration's validation; no secret is issued to it.
    """
    key = key or ClientKey()
    metadata.setdefault("token_endpoint_auth_method", "private_key_jwt")
    if "jwks_uri" not in metadata:
        metadata.setdefault("jwks", key.jwks())
    client, secret = make_client(source=source, **metadata)
    assert secret is None
    return client, key


class ConsentFactory(factory.django.DjangoModelFactory):
    """A user's standing approval of a client for some scopes."""

    class Meta:
        model = Consent

    user = factory.SubFactory(UserFactory)
    client = factory.SubFactory(ClientFactory)
    scope = "api"


class SubjectFactory(factory.django.DjangoModelFactory):
    """A user's OpenID Connect subject identifier (OpenID Connect Core §8.1)."""

    class Meta:
        model = Subject

    user = factory.SubFactory(UserFactory)
    sub = factory.LazyFunction(lambda: secrets.token_urlsafe(24))


class AuthorizationCodeFactory(factory.django.DjangoModelFactory):
    """
    An unspent authorization code (RFC 6749 §4.1.2) for the client's first redirect URI. Pass
    ``code_verifier`` to bind it to that verifier's S256 challenge (RFC 7636 §4.2).
    """

    class Meta:
        model = AuthorizationCode

    class Params:
        code = factory.LazyFunction(opaque.generate_secret)
        code_verifier = None

    code_digest = factory.LazyAttribute(lambda o: opaque.digest(o.code))
    client = factory.SubFactory(ClientFactory)
    user = factory.SubFactory(UserFactory)
    redirect_uri = factory.LazyAttribute(lambda o: o.client.redirect_uris[0])
    scope = "api"
    resource = factory.LazyFunction(list)
    code_challenge = factory.LazyAttribute(lambda o: pkce.s256(o.code_verifier) if o.code_verifier else "")
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(
        lambda o: o.created_at + timedelta(seconds=oauth_settings.AUTHORIZATION_CODE_LIFETIME)
    )

    @classmethod
    def with_code(cls, **kwargs: Any) -> tuple[AuthorizationCode, str]:
        """An authorization code row and the code itself, of which only the digest is stored."""
        code = opaque.generate_secret()
        return cls(code=code, **kwargs), code


class DeviceGrantFactory(factory.django.DjangoModelFactory):
    """
    A pending device authorization (RFC 8628 §3.2) of a confidential client registered for the
    device grant and for refresh tokens. ``approved=True`` approves it for a new user (or the
    ``user`` given), ``denied=True`` records a denial. ``with_codes`` returns the row with its
    device code and its user code (eight letters, as stored), of which only digests are kept.
    """

    class Meta:
        model = DeviceGrant

    class Params:
        device_code = factory.LazyFunction(opaque.generate_secret)
        user_code = factory.LazyFunction(generate_user_code)
        approved = factory.Trait(
            user=factory.SubFactory(UserFactory), approved_at=factory.LazyFunction(timezone.now)
        )
        denied = factory.Trait(
            user=factory.SubFactory(UserFactory), denied_at=factory.LazyFunction(timezone.now)
        )

    device_code_digest = factory.LazyAttribute(lambda o: opaque.digest(o.device_code))
    user_code_digest = factory.LazyAttribute(lambda o: opaque.digest(o.user_code))
    client = factory.SubFactory(
        ClientFactory,
        redirect_uris=factory.LazyFunction(list),
        grant_types=factory.LazyFunction(lambda: [DEVICE_CODE_GRANT, "refresh_token"]),
        response_types=factory.LazyFunction(list),
    )
    user = None
    scope = "api"
    resource = factory.LazyFunction(list)
    interval = factory.LazyFunction(lambda: oauth_settings.DEVICE_CODE_INTERVAL)
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(
        lambda o: o.created_at + timedelta(seconds=oauth_settings.DEVICE_CODE_LIFETIME)
    )

    @classmethod
    def with_codes(cls, **kwargs: Any) -> tuple[DeviceGrant, str, str]:
        """A device grant row, its device code and its user code; only their digests are stored."""
        device_code, user_code = opaque.generate_secret(), generate_user_code()
        return cls(device_code=device_code, user_code=user_code, **kwargs), device_code, user_code


class TokenFamilyFactory(factory.django.DjangoModelFactory):
    """The grant that a user's refresh and access tokens descend from (RFC 9700 §4.14.2)."""

    class Meta:
        model = TokenFamily

    client = factory.SubFactory(ClientFactory)
    user = factory.SubFactory(UserFactory)
    scope = "api"
    resource = factory.LazyFunction(list)


class RefreshTokenFactory(factory.django.DjangoModelFactory):
    """An unspent refresh token (RFC 6749 §6) of a new family, unless ``family`` is given."""

    class Meta:
        model = RefreshToken

    class Params:
        token = factory.LazyFunction(opaque.generate_secret)

    token_digest = factory.LazyAttribute(lambda o: opaque.digest(o.token))
    family = factory.SubFactory(TokenFamilyFactory)
    scope = SelfAttribute("family.scope")
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(
        lambda o: o.created_at + timedelta(seconds=oauth_settings.REFRESH_TOKEN_LIFETIME)
    )

    @classmethod
    def with_token(cls, **kwargs: Any) -> tuple[RefreshToken, str]:
        """A refresh token row and the token itself, of which only the digest is stored."""
        token = opaque.generate_secret()
        return cls(token=token, **kwargs), token


class AccessTokenFactory(factory.django.DjangoModelFactory):
    """
    The record of an access token (RFC 9068) with the issuer as audience. It belongs to a new
    family and shares its client, user and scope; with ``family=None`` it gets a client and a
    user of its own. ``with_jwt`` also signs the JWT the record stands for.
    """

    class Meta:
        model = AccessToken

    jti = factory.LazyFunction(opaque.generate_token_id)
    family = factory.SubFactory(TokenFamilyFactory)
    client = factory.Maybe("family", SelfAttribute("family.client"), factory.SubFactory(ClientFactory))
    user = factory.Maybe("family", SelfAttribute("family.user"), factory.SubFactory(UserFactory))
    scope = factory.Maybe("family", SelfAttribute("family.scope"), "api")
    audience = factory.LazyFunction(lambda: [ISSUER])
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(
        lambda o: o.created_at + timedelta(seconds=oauth_settings.ACCESS_TOKEN_LIFETIME)
    )

    @classmethod
    def with_jwt(
        cls, *, signing_key: SigningKey | None = None, issuer: str = ISSUER, **kwargs: Any
    ) -> tuple[AccessToken, str]:
        """
        A record and the JWT it stands for, with the claims of RFC 9068 §2.2, signed by
        ``signing_key`` or else by the key that signs this process's tokens.
        """
        record = cls(**kwargs)
        return record, signed_access_token(record, signing_key=signing_key, issuer=issuer)


def signed_access_token(
    record: AccessToken, *, signing_key: SigningKey | None = None, issuer: str = ISSUER
) -> str:
    """The RFC 9068 JWT an access-token record stands for, as the server would have signed it."""
    key = keys.load_row(signing_key) if signing_key else keys.keyring.signing_key()
    claims = {
        "iss": issuer,
        "sub": str(record.user.pk) if record.user is not None else record.client.client_id,
        "aud": audience_claim(record.audience),
        "client_id": record.client.client_id,
        "scope": record.scope,
        "iat": int(record.created_at.timestamp()),
        "exp": int(record.expires_at.timestamp()),
        "jti": record.jti,
    }
    return jwt.encode(
        claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
    )


class SigningKeyFactory(factory.django.DjangoModelFactory):
    """
    A database signing key, activated now; its ``kid`` is its RFC 7638 thumbprint and its
    private key is encrypted with the key-encryption key, as with ``manage.py oauth_keys``.
    ``activated_at=None`` publishes it without letting it sign. As when another worker adds a
    key, this process is not told: ``keys.clear_cache()`` makes it read the keys again.
    """

    class Meta:
        model = SigningKey

    class Params:
        key = factory.LazyAttribute(lambda o: keys.generate_private_key(o.algorithm))

    algorithm = "ES256"
    kid = factory.LazyAttribute(lambda o: keys.thumbprint(keys.public_jwk(o.key, o.algorithm)))
    private_key = factory.LazyAttribute(
        lambda o: key_encryption.encrypt(keys.private_key_to_pem(o.key), o.kid)
    )
    activated_at = factory.LazyFunction(timezone.now)
