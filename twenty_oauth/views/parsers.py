"""
The strict body parsers of the JSON endpoints.

They are Django REST framework parser classes, so the views read ``request.data`` as any
DRF view does; they are written here rather than taken from DRF because RFC 6749 §3.1 and
RFC 9700 ask more of a token endpoint than DRF's ``FormParser`` and ``JSONParser`` check: a
parameter at most once, an empty value as absent, strict UTF-8, no NUL, bounded sizes, and for
JSON a bounded depth and no unpaired surrogate (RFC 8259 §8.2).
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.parsers import BaseParser

from twenty_oauth.errors import InvalidClientMetadata, InvalidRequest, OAuthError, RequestTooLarge
from twenty_oauth.protocol import parameters
from twenty_oauth.protocol.parameters import Params

MAX_FORM_BYTES = 64 * 1024
MAX_JSON_BYTES = 256 * 1024
MAX_JSON_DEPTH = 16
UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def media_type(request: HttpRequest) -> str:
    """The request's media type, without parameters, lower-cased."""
    return request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()


class OAuthParser(BaseParser):
    """
    A body of ``media_type`` of at most ``max_bytes``. Every refusal is raised as ``error``, the
    OAuth error the endpoint answers with, never as DRF's ``ParseError``.
    """

    max_bytes: int
    error: type[OAuthError] = InvalidRequest

    def limit(self) -> int:
        """``max_bytes``, or the site's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` where that is lower."""
        site_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return self.max_bytes if site_limit is None else min(self.max_bytes, site_limit)

    def read(self, stream: Any, parser_context: dict | None) -> bytes:
        request = (parser_context or {}).get("request")
        meta = request.META if request is not None else {}
        limit = self.limit()
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError as exc:
            raise InvalidRequest("Invalid Content-Length.") from exc
        if length > limit:
            raise RequestTooLarge(f"The request body may have at most {limit} bytes.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"The request body may have at most {limit} bytes.")
        return body

    def decode(self, body: bytes) -> str:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.error("The body is not valid UTF-8.") from exc


class FormParser(OAuthParser):
    """``application/x-www-form-urlencoded`` (RFC 6749 §3.2, Appendix B) into :class:`Params`."""

    media_type = "application/x-www-form-urlencoded"
    max_bytes = MAX_FORM_BYTES

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Params:
        return parameters.parse(self.decode(self.read(stream, parser_context)))


class ClientMetadataParser(OAuthParser):
    """
    ``application/json`` client metadata (RFC 7591 §3.1). JSON text must be UTF-8 (RFC 8259
    §8.1). Nesting deeper than any client metadata needs, a NUL, or an unpaired surrogate
    escape (§8.2), which no database could store, are refused before anything reads the values.
    """

    media_type = "application/json"
    max_bytes = MAX_JSON_BYTES
    error = InvalidClientMetadata

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            value = json.loads(self.decode(self.read(stream, parser_context)))
        except (ValueError, RecursionError) as exc:
            raise self.error("The body is not valid JSON.") from exc
        stack = [(value, 1)]
        while stack:
            item, depth = stack.pop()
            if depth > MAX_JSON_DEPTH:
                raise self.error("The JSON body is nested too deeply.")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            elif isinstance(item, list):
                stack.extend((child, depth + 1) for child in item)
            elif isinstance(item, str) and UNSTORABLE_RE.search(item):
                raise self.error("The JSON body contains a NUL character or an unpaired surrogate.")
        return value
