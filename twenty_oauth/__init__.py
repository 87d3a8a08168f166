"""twenty-oauth: an OAuth 2.0 authorization server for Django sites."""

__version__ = "0.1.0"
