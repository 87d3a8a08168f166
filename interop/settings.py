"""
The example site as the interop tests serve it: ``example_project.settings`` plus what a test
needs and a deployment must not have. Client ID metadata documents are served from 127.0.0.1,
so the guard against fetching private and loopback addresses is lifted here, and only here.
"""

from example_project.settings import *  # noqa: F403
from example_project.settings import TWENTY_OAUTH

TWENTY_OAUTH = {**TWENTY_OAUTH, "CLIENT_METADATA_ALLOW_PRIVATE_ADDRESSES": True}

# DPoP proofs must carry the server's nonce (RFC 9449 §8): oauth4webapi's DPoP journey answers it.
TWENTY_OAUTH["DPOP_NONCES"] = True

# Many journeys register clients from one address within minutes.
TWENTY_OAUTH["REGISTRATION_RATE_LIMIT"] = None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR"},
        "twenty_oauth": {"handlers": ["console"], "level": "INFO"},
    },
}
