"""
A host's own DRF views, for the tests of ``request.user`` and ``request.auth``: throttled views,
and the view of the README that takes a browser session or a token. Mounted beside the example
site's URLs with ``pytest.mark.urls("tests.drf_views")``.
"""

from django.urls import include, path
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from twenty_oauth.drf import BearerTokenAuthentication, ClientPrincipal, HasScope


class OnePerMinute(UserRateThrottle):
    rate = "1/min"


class ReportsThrottle(ScopedRateThrottle):
    THROTTLE_RATES = {"reports": "1/min"}


def principal(request) -> dict:
    return {"pk": str(request.user.pk), "client": isinstance(request.user, ClientPrincipal)}


class Throttled(APIView):
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [OnePerMinute]

    def get(self, request):
        return Response(principal(request))


class ScopedReports(Throttled):
    throttle_classes = [ReportsThrottle]
    throttle_scope = "reports"


class ScopeForTokens(BasePermission):
    """A signed-in browser passes; a token must hold ``api`` (403 insufficient_scope if not)."""

    def has_permission(self, request, view):
        return request.auth is None or HasScope.check(request, ("api",))


class Me(APIView):
    """The README's example of a view for a browser's session and for tokens."""

    # Bearer first: an anonymous request gets its 401 and WWW-Authenticate challenge.
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, ScopeForTokens]

    def get(self, request):
        if request.auth is None:  # the session: request.user is the signed-in user
            return Response({"via": "session", "user": request.user.get_username(), **principal(request)})
        claims = request.auth.claims  # a token: request.user is its user, or a ClientPrincipal
        return Response(
            {
                "via": "token",
                "sub": claims["sub"],
                "client_id": claims["client_id"],
                "scope": claims["scope"],
                "aud": claims["aud"],
                "has_exp_and_jti": "exp" in claims and "jti" in claims,
                **principal(request),
            }
        )


class TokenClient(APIView):
    """What a view can read of ``request.auth.client``: ``?field=`` names one of its fields."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        field = request.query_params.get("field", "client_id")
        return Response({field: getattr(request.auth.client, field)})


urlpatterns = [
    path("token-client", TokenClient.as_view()),
    path("throttled", Throttled.as_view()),
    path("scoped", ScopedReports.as_view()),
    path("me", Me.as_view()),
    path("", include("example_project.urls")),
]
