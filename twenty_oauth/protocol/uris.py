"""Reading URIs that arrive from outside: parameters, registrations, metadata documents."""

from __future__ import annotations

import re
from encodings import idna
from urllib.parse import SplitResult, urlsplit

#: The four characters IDNA 2003 maps away (ß to ss, ς to σ, the joiners to nothing) and
#: browsers, which follow UTS #46 non-transitional processing as the WHATWG URL standard asks,
#: keep: faß.de is xn--fa-hia.de to a browser and fass.de to Python's "idna" codec.
DEVIATIONS = re.compile("([\u00df\u03c2\u200c\u200d])")


def split(uri: str) -> SplitResult | None:
    """
    The RFC 3986 §3 components of ``uri``, or None where it cannot be parsed: ``urlsplit``
    raises ValueError on a malformed IPv6 host (``https://[::1``) and ``.port`` on a malformed
    port, and either would otherwise surface as a 500.
    """
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    return parts


def is_resource_indicator(uri: str) -> bool:
    """An absolute URI without a fragment, as RFC 8707 §2 requires of a ``resource`` value."""
    parts = split(uri)
    return parts is not None and bool(parts.scheme) and bool(parts.netloc) and "#" not in uri


def ascii_host(host: str) -> str:
    """
    ``host`` as a browser looks it up: each internationalised label in its punycode form
    (RFC 5891 §4.4), mapped as IDNA 2003 maps it but for the four deviation characters.
    Raises UnicodeError for a label that has no such form.
    """
    return ".".join(_ascii_label(label) for label in host.split("."))


def _ascii_label(label: str) -> str:
    if label.isascii():
        return label
    if not DEVIATIONS.search(label):
        return idna.ToASCII(label).decode("ascii")
    mapped = "".join(
        part if DEVIATIONS.fullmatch(part) else idna.nameprep(part) for part in DEVIATIONS.split(label)
    )
    return "xn--" + mapped.encode("punycode").decode("ascii")
