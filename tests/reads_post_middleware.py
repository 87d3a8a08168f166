"""A host middleware that reads ``request.POST`` before any view, as some do (audit, CSRF-like)."""


class ReadsPost:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.POST  # noqa: B018 - reading it is the point
        return self.get_response(request)
