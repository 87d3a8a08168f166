"""
The JSON the endpoints answer with, whatever the host's ``REST_FRAMEWORK`` says.

DRF's ``JSONRenderer`` follows the host's ``UNICODE_JSON``, ``COMPACT_JSON`` and
``STRICT_JSON`` and the ``Accept`` header's ``indent``; an OAuth answer must not change with
them, so these renderers fix their options.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework.renderers import BaseRenderer


class OAuthJSONRenderer(BaseRenderer):
    """``application/json`` (RFC 6749 §5.1, RFC 7591 §3.2); ``None`` is an empty body."""

    media_type = "application/json"
    format = "json"
    charset = None  # JSON is UTF-8 and takes no charset parameter (RFC 8259 §11).

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        return json.dumps(data, ensure_ascii=False).encode()


class JWKSetRenderer(OAuthJSONRenderer):
    """``application/jwk-set+json`` (RFC 7517 §8.5.1)."""

    media_type = "application/jwk-set+json"
