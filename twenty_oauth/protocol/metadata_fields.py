"""
The fields client metadata is made of, as DRF serializer fields, and the serializer base they
share: strict JSON types (a number is not text, nothing is trimmed), control characters and
lengths refused, URLs and redirect URIs checked by the modules that own those rules.
"""

from __future__ import annotations

import re
import threading
from functools import cached_property
from typing import Any

from rest_framework import serializers

from twenty_oauth.conf import oauth_settings
from twenty_oauth.errors import InvalidRedirectURI, OAuthError
from twenty_oauth.protocol import client_keys, redirect_uris, uris

URL_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
MAX_STRING = 200
MAX_URL = 2000
CONTROL_RE = re.compile("[\x00-\x1f\x7f]")
#: The error code of a redirect URI problem: ``invalid_redirect_uri`` (RFC 7591 §3.2.2).
REDIRECT_CODE = InvalidRedirectURI.error

_bound_fields = threading.local()


class ReusedFieldsSerializer(serializers.Serializer):
    """
    A serializer whose fields are built once per class and thread, then lent to each instance.

    DRF deep-copies every declared field for each serializer it makes, which re-runs each
    field's ``__init__``: about 0.5 ms for the dozen fields of client metadata, more than a
    whole registration costs without it (measured with ``make bench``, scenario (g)). The fields
    here keep no state between validations, so each instance borrows its thread's set and
    becomes their parent whenever it validates or renders (``field_items``); a thread never
    validates two at once.
    """

    @cached_property
    def fields(self) -> Any:
        cache = _bound_fields.__dict__.setdefault("fields", {})
        fields = cache.get(type(self))
        if fields is None:
            fields = cache[type(self)] = super().fields
        return fields

    @property
    def field_items(self) -> Any:
        """
        ``fields.items()`` without the abstract mapping's per-item indirection, the fields bound
        to this instance again: another instance of the thread may have borrowed them since.
        """
        fields = self.fields
        fields.serializer = self
        for field in fields.fields.values():
            field.parent = self
        return fields.fields.items()


class TextField(serializers.CharField):
    """A JSON string as sent: no number turned into text, no trimming, no control character."""

    default_error_messages = {
        "invalid": "Must be a string.",
        "max_length": "May have at most {max_length} characters.",
        "control": "May not contain control characters.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if CONTROL_RE.search(data):
            self.fail("control")
        return data


class HttpsURLField(TextField):
    """RFC 7591 §2: ``client_uri``, ``logo_uri``, ``tos_uri`` and ``policy_uri`` are web pages."""

    default_error_messages = {"not_https": "Must be an https URL."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_URL)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value:
            parts = uris.split(value)
            if (
                parts is None
                or parts.scheme != "https"
                or not parts.hostname
                or parts.username
                or parts.password
            ):
                self.fail("not_https")
        return value


class TextListField(serializers.ListField):
    """A JSON array of strings, repeats dropped in order."""

    default_error_messages = {"invalid": "Must be an array of strings."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", TextField())
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            self.fail("invalid")
        return list(dict.fromkeys(data))


class RedirectURIsField(TextListField):
    """``redirect_uris`` under the rules of :mod:`twenty_oauth.protocol.redirect_uris` (RFC 9700 §4.1.3)."""

    def to_internal_value(self, data: Any) -> list[str]:
        try:
            return redirect_uris.validate_all(data, maximum=oauth_settings.MAX_REDIRECT_URIS)
        except OAuthError as exc:
            raise serializers.ValidationError(exc.description, code=REDIRECT_CODE) from exc


class JWKSetField(serializers.Field):
    """``jwks`` (RFC 7591 §2): the client's public keys, as :mod:`client_keys` accepts them."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        try:
            return client_keys.validate_jwks(data)
        except client_keys.InvalidKeySet as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def to_representation(self, value: Any) -> Any:
        return value


class JWKSetURLField(TextField):
    """``jwks_uri`` (RFC 7591 §2): where the client publishes its JWK Set."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        try:
            return client_keys.validate_jwks_uri(value) if value else value
        except client_keys.InvalidKeySet as exc:
            raise serializers.ValidationError(str(exc)) from exc


class StrictIntegerField(serializers.IntegerField):
    """A JSON number that is an integer: not a string, not a boolean."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false``, nothing that merely looks like one."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
