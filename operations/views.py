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


def _root_file(name: str, content_type: str) -> HttpResponse:
    """A file of the built dashboard served at the root rather than under /static/, never cached by
    HTTP: the browser must see a new version as soon as one is deployed."""
    try:
        content = (settings.FRONTEND_DIST / name).read_bytes()
    except FileNotFoundError:
        return HttpResponse(
            "The dashboard has not been built: run `make frontend`.\n", status=404, content_type="text/plain"
        )
    response = HttpResponse(content, content_type=content_type)
    response["Cache-Control"] = "no-cache"
    return response


def service_worker(request):
    """The dashboard's service worker, at the root so that its scope covers every page."""
    return _root_file("sw.js", "text/javascript; charset=utf-8")


def web_app_manifest(request):
    """The web app manifest that makes the dashboard installable on a tablet, beside the service
    worker whose scope (the whole site) it shares."""
    return _root_file("manifest.webmanifest", "application/manifest+json")
