"""
System checks for ``TWENTY_OAUTH`` and for the URLconf that mounts the app.

``manage.py check`` reports errors (``twenty_oauth.E0xx``) for a block that cannot work: an
unknown key, a value of the wrong type, values that contradict each other; and for a URLconf that
does not serve the discovery documents where clients look for them (``twenty_oauth.E024``). ``check --deploy``
adds warnings (``twenty_oauth.W0xx``) for settings that are fine in development and unsafe in
production, and one recommendation (``twenty_oauth.I001``). ``migrate`` and
``check --database default`` also read the signing keys in the database: an error when one cannot
be decrypted (``twenty_oauth.E026``), warnings when none signs or one is stored unencrypted
(``twenty_oauth.W011``, ``W012``), and one when clients want ID tokens signed with an algorithm no
key has (``W015``). Every message's hint says how to fix it; a warning you have
weighed can be silenced with ``SILENCED_SYSTEM_CHECKS``.
"""

from twenty_oauth.checks.database import check_signing_keys
from twenty_oauth.checks.deployment import check_deployment
from twenty_oauth.checks.settings import check_settings
from twenty_oauth.checks.urls import check_discovery_urls

__all__ = ["check_deployment", "check_discovery_urls", "check_settings", "check_signing_keys"]
