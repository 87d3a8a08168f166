"""
The protocol: each rule of OAuth 2.0 and its extensions in a module of its own, over plain values.

Nothing here reads an ``HttpRequest``: the web layer (``twenty_oauth.views``, ``twenty_oauth.drf``,
the admin) turns a request into the values these functions take (the issuer, the client's
address, the presented credentials, the parameters) and their exceptions into answers.
"""
