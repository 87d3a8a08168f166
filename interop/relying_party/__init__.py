"""
A second Django site, a relying party that signs its users in with ``mozilla-django-oidc``
(PyPI) against the example site, OpenID provider. Configured from the environment by
``interop/test_mozilla_django_oidc.py``, which runs it with ``django runserver``.
"""
