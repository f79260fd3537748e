"""Websocket routes of every app, mounted under /ws/ by maintainx.asgi."""

from telemetry.routing import websocket_urlpatterns as telemetry_routes

websocket_urlpatterns = [*telemetry_routes]
