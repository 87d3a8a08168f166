"""The peer for comparison: the same site served by django-oauth-toolkit instead of twenty-oauth."""
