"""Load benchmark of twenty-oauth against the bare-Django floor and django-oauth-toolkit."""
