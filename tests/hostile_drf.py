"""The DRF classes a hostile host configures (``tests/hostile_settings.py``)."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class HostileRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b'{"rendered": "by the host"}'


class HostileNegotiation(DefaultContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[-1] if parsers else None


def hostile_exception_handler(exc, context):
    return Response({"detail": "handled by the host"}, status=418)
