from django.urls import path

from telemetry.apis import MachineDetailApi, MachineListApi, MachineReadingsApi

urlpatterns = [
    path("machines/", MachineListApi.as_view(), name="machine-list"),
    path("machines/<str:code>/", MachineDetailApi.as_view(), name="machine-detail"),
    path("machines/<str:code>/readings/", MachineReadingsApi.as_view(), name="machine-readings"),
]
