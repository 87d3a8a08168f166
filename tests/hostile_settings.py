"""
The test settings, with a ``REST_FRAMEWORK`` as hostile to an OAuth server as a host's could be:
each of these, if it reached an endpoint, would change its answer.
"""

from tests.settings import *  # noqa: F403

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"user": "1/min", "anon": "1/min"},
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["tests.hostile_drf.HostileRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tests.hostile_drf.HostileNegotiation",
    "DEFAULT_METADATA_CLASS": "rest_framework.metadata.SimpleMetadata",
    "EXCEPTION_HANDLER": "tests.hostile_drf.hostile_exception_handler",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "ALLOWED_VERSIONS": ["v9"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 1,
    "UNICODE_JSON": False,
    "COMPACT_JSON": False,
    "NON_FIELD_ERRORS_KEY": "hostile",
    "UNAUTHENTICATED_USER": None,
}
