"""Websocket routes, mounted under /ws/ by maintainx.asgi: the consumers of realtime, wired to the apps
they serve."""

from django.urls import path

from realtime.consumers import MachineConsumer, PlantConsumer
from telemetry.selectors import machine_exists

websocket_urlpatterns = [
    path("ws/plant/", PlantConsumer.as_asgi()),
    path("ws/machines/<str:code>/", MachineConsumer.as_asgi(machine_exists=machine_exists)),
]
