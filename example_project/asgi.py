"""
The example site as one ASGI application: ``/mcp`` goes to the MCP server
(``example_project.mcp``), everything else to Django. ``make demo`` serves it
with ``uvicorn example_project.asgi:application``; ``manage.py runserver`` and ``wsgi.py`` serve
Django alone, without ``/mcp``.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
django_application = get_asgi_application()

from django.conf import settings  # noqa: E402

if settings.DEBUG:
    # What runserver does in development: serve the admin's static files.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_application = ASGIStaticFilesHandler(django_application)

# Imported once Django is set up: the MCP server reads models and settings.
from example_project.mcp import server as mcp_server  # noqa: E402


async def application(scope, receive, send):
    # Django's ASGI handler speaks HTTP only; the MCP app's lifespan runs its session manager.
    if scope["type"] == "lifespan" or (scope["type"] == "http" and scope["path"] == mcp_server.PATH):
        await mcp_server.app(scope, receive, send)
    else:
        await django_application(scope, receive, send)
