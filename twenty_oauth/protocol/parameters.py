"""
The parameters of an OAuth request, read strictly (RFC 6749 §3.1, §3.2).

Each parameter may appear at most once, an empty value is the same as an absent one, and a NUL,
an over-long value or a text that is not UTF-8 is refused. RFC 8707 §2 lets ``resource`` alone
repeat. These rules are the same for a query string and for a form body; the web layer's
parsers apply them to whichever one a request carries.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from twenty_oauth.errors import InvalidRequest

MAX_PARAMETERS = 100
MAX_VALUE_LENGTH = 8192


class Params(dict):
    """
    Request parameters by name. ``resources`` holds every ``resource`` value: RFC 8707 §2 lets
    it repeat, unlike any other parameter.
    """

    resources: list[str]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.resources = []


def _clean(name: str, value: str) -> str:
    if "\x00" in value:
        raise InvalidRequest(f"{name} contains a NUL character.")
    if len(value) > MAX_VALUE_LENGTH:
        raise InvalidRequest(f"{name} is too long.")
    return value


def parse(text: str) -> Params:
    """
    The parameters of a query string or ``application/x-www-form-urlencoded`` text; a repeated
    parameter is ``invalid_request`` (RFC 6749 §3.1).
    """
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARAMETERS, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("The parameters could not be parsed.") from exc
    params = Params()
    seen: set[str] = set()
    for name, value in pairs:
        _clean("A parameter name", name)
        value = _clean(name, value)
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
