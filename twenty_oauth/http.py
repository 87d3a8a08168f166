"""
Request parsing and responses shared by the endpoints.

Parsing is strict, as RFC 6749 §3.2 and RFC 9700 ask of a token endpoint: a form body only, each
parameter at most once, an empty value the same as an absent one, and no NUL or invalid UTF-8.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from twenty_oauth.errors import InvalidRequest, OAuthError, RequestTooLarge

MAX_FORM_BYTES = 64 * 1024
MAX_JSON_BYTES = 256 * 1024
MAX_PARAMETERS = 100
MAX_VALUE_LENGTH = 8192
MAX_JSON_DEPTH = 16
UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False), status=status, content_type="application/json"
    )
    for name, value in {**NO_STORE, **(headers or {})}.items():
        response[name] = value
    return response


def error_response(error: OAuthError) -> HttpResponse:
    return json_response(error.as_dict(), status=error.status_code, headers=error.headers)


def read_body(request: HttpRequest, limit: int) -> bytes:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise InvalidRequest("Invalid Content-Length.") from exc
    if length > limit:
        raise RequestTooLarge(f"The request body may have at most {limit} bytes.")
    try:
        body = request.body
    except RequestDataTooBig as exc:
        raise RequestTooLarge(f"The request body may have at most {limit} bytes.") from exc
    if len(body) > limit:
        raise RequestTooLarge(f"The request body may have at most {limit} bytes.")
    return body


def media_type(request: HttpRequest) -> str:
    return request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()


def clean_value(name: str, value: str) -> str:
    if "\x00" in value:
        raise InvalidRequest(f"{name} contains a NUL character.")
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidRequest(f"{name} is too long.")
    return value


class Params(dict):
    """
    Request parameters by name. ``resources`` holds every ``resource`` value: RFC 8707 §2 lets
    it repeat, unlike any other parameter.
    """

    resources: list[str]


def parse_pairs(text: str) -> Params:
    """Parameters of a query or form body; a repeated parameter is ``invalid_request``."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARAMETERS, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("The parameters could not be parsed.") from exc
    params = Params()
    params.resources = []
    seen: set[str] = set()
    for name, value in pairs:
        clean_value("A parameter name", name)
        value = clean_value(name, value)
        if name == "resource":
            if value:
                params.resources.append(value)
            continue
        # Counted with the empty ones: ``a=&a=x`` is as repeated as ``a=x&a=``, and a proxy
        # in front could read either copy.
        if name in seen:
            raise InvalidRequest(f"The parameter {name} was sent more than once.")
        seen.add(name)
        # RFC 6749 §3.1, §3.2: parameters sent without a value are treated as if omitted.
        if value != "":
            params[name] = value
    return params


def parse_form(request: HttpRequest) -> Params:
    """The ``application/x-www-form-urlencoded`` body of a POST (RFC 6749 §3.2)."""
    if media_type(request) != "application/x-www-form-urlencoded":
        raise InvalidRequest("The body must be application/x-www-form-urlencoded.")
    body = read_body(request, MAX_FORM_BYTES)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("The body is not valid UTF-8.") from exc
    return parse_pairs(text)


def parse_json(request: HttpRequest, error: type[OAuthError]) -> Any:
    """
    The ``application/json`` body of a POST. JSON text must be UTF-8 (RFC 8259 §8.1). Nesting
    deeper than any client metadata needs, a NUL, or an unpaired surrogate escape (§8.2), which
    no database could store, are refused as ``error`` before anything reads the values.
    """
    if media_type(request) != "application/json":
        raise error("The body must be application/json.")
    body = read_body(request, MAX_JSON_BYTES)
    try:
        value = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise error("The body is not valid JSON.") from exc
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise error("The JSON body is nested too deeply.")
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str) and UNSTORABLE_RE.search(item):
            raise error("The JSON body contains a NUL character or an unpaired surrogate.")
    return value


def parse_query(request: HttpRequest) -> Params:
    try:
        text = request.META.get("QUERY_STRING", "").encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest("The query string is not valid UTF-8.") from exc
    return parse_pairs(text)


def client_ip(request: HttpRequest) -> str:
    """The peer address. Behind a proxy, set REMOTE_ADDR from a trusted header in middleware."""
    return request.META.get("REMOTE_ADDR", "")
