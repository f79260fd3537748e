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


def service_worker(request):
    """The dashboard's service worker, at the root so that its scope covers every page.

    Never cached by HTTP: the browser must see a new version as soon as one is deployed.
    """
    try:
        script = (settings.FRONTEND_DIST / "sw.js").read_bytes()
    except FileNotFoundError:
        return HttpResponse(
            "The dashboard has not been built: run `make frontend`.\n", status=404, content_type="text/plain"
        )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
