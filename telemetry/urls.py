from django.urls import path

from telemetry.apis import MachineDetailApi, MachineListApi

urlpatterns = [
    path("machines/", MachineListApi.as_view(), name="machine-list"),
    path("machines/<str:code>/", MachineDetailApi.as_view(), name="machine-detail"),
]
