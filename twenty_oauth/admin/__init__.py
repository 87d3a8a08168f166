"""
Django admin for clients, consents and tokens.

No secret or token is ever displayed, not even as a digest: a new client secret is shown once,
on the page that follows its creation or rotation, and is stored nowhere but as its digest.
Consents, grants and tokens are read-only; staff end them with the revoke actions.
"""

from twenty_oauth.admin import clients, records  # noqa: F401 - registers the model admins
