from django.urls import path

from telemetry.consumers import MachineConsumer, PlantConsumer

websocket_urlpatterns = [
    path("ws/plant/", PlantConsumer.as_asgi()),
    path("ws/machines/<str:code>/", MachineConsumer.as_asgi()),
]
