"""Static files (the dashboard's build, the admin's and the API docs' assets) served by the ASGI app."""

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotFound
from servestatic.middleware import ServeStaticMiddleware
from servestatic.responders import MissingFileError


class StaticFilesMiddleware(ServeStaticMiddleware):
    """ServeStatic, with a missing file a 404 in DEBUG too.

    With DEBUG on, ServeStatic raises for a /static/ path it has no file for, to show a developer
    where it looked; the demo runs with DEBUG on, and a browser holding an old page that asks for a
    replaced asset would get a 500 and a traceback in the console for what is a plain 404.
    """

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            return await super().__call__(request)
        except MissingFileError:
            return HttpResponseNotFound(f"No static file at {request.path}", content_type="text/plain")
