"""``POST /oauth/device_authorization``: the device authorization endpoint (RFC 8628 §3.1)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from twenty_oauth.protocol import device_authorization
from twenty_oauth.views import inputs
from twenty_oauth.views.base import OAuthAPIView
from twenty_oauth.views.parsers import FormParser


class DeviceAuthorizationView(OAuthAPIView):
    """
    A device asks for a device code and a user code (RFC 8628 §3.1-§3.2). The client
    authenticates as at the token endpoint (RFC 6749 §2.3); parameters come only from the form
    body, and the answer, which holds the device code, is never cached.
    """

    http_method_names = ["post", "options"]
    parser_classes = (FormParser,)
    endpoint = "device authorization endpoint"
    cors = True
    query_forbidden = True
    sensitive = True

    def post(self, request: Request) -> Response:
        params = self.body(request)
        client = inputs.client(request, params)
        return Response(device_authorization.start(params, client, site=inputs.site(request)))
