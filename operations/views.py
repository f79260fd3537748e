from django.conf import settings
from django.http import HttpResponse


def frontend_index(request, *args, **kwargs):
    """The dashboard's single page; its client-side routes all load this same page."""
    index = settings.FRONTEND_DIST / "index.html"
    try:
        html = index.read_bytes()
    except FileNotFoundError:
        return HttpResponse(
            "The dashboard has not been built: run `make frontend` (or `make demo`).\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(html, content_type="text/html; charset=utf-8")
