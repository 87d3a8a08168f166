"""Reading a page's form fields as a browser would, with the standard library's HTML parser."""

from __future__ import annotations

from html.parser import HTMLParser


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "input":
            return
        values = dict(attrs)
        name = values.get("name")
        if name and values.get("type", "text") in ("hidden", "text", "password"):
            self.fields[name] = values.get("value") or ""


def form_fields(html: str) -> dict[str, str]:
    """Every named hidden, text and password input of the page, by name."""
    parser = _Inputs()
    parser.feed(html)
    return parser.fields
