from django.urls import path

from telemetry.consumers import PlantConsumer

websocket_urlpatterns = [path("ws/plant/", PlantConsumer.as_asgi())]
