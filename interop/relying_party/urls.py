from django.http import JsonResponse
from django.urls import include, path


def whoami(request):
    """Who this site's session says is signed in."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"signed_in": False})
    return JsonResponse({"signed_in": True, "username": user.get_username(), "email": user.email})


urlpatterns = [
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("whoami", whoami),
]
