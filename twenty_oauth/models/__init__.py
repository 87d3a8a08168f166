"""
What the server remembers. No secret is stored in clear: client secrets, codes and refresh
tokens are kept as SHA-256 digests; access tokens are JWTs of which only the ``jti`` is kept,
so that they can be revoked and introspected.
"""

from twenty_oauth.models.clients import Client
from twenty_oauth.models.grants import AuthorizationCode, Consent, DeviceGrant
from twenty_oauth.models.keys import SigningKey, Subject
from twenty_oauth.models.tokens import AccessToken, RefreshToken, TokenFamily

__all__ = [
    "AccessToken",
    "AuthorizationCode",
    "Client",
    "Consent",
    "DeviceGrant",
    "RefreshToken",
    "SigningKey",
    "Subject",
    "TokenFamily",
]
