"""Liveness and readiness, for compose health checks and load balancers.

`/healthz`: the process answers. `/readyz`: the database and the channel layer answer too, and with
`?broker=1` the MQTT broker accepts our credentials (`manage.py healthcheck --broker` runs the same
checks for the listener, which serves no HTTP). Both are answered by a middleware placed first, so
that a probe from inside the container (Host: localhost, plain HTTP) is neither refused by
ALLOWED_HOSTS nor redirected to HTTPS: neither endpoint takes input or returns data.
"""

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from telemetry.mqtt import BrokerAddress, client_create

CHECK_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    milliseconds: float


def _timed(name: str, check: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except Exception as exc:  # any failure means "not ready", with its reason
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        detail, ok = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__, False
    return CheckResult(name, ok, detail, round((time.perf_counter() - started) * 1000, 1))


def database_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


async def _channel_layer_round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "health.check"})
    await asyncio.wait_for(layer.receive(channel), timeout=CHECK_TIMEOUT_S)


def channel_layer_check() -> str:
    async_to_sync(_channel_layer_round_trip)()
    return type(get_channel_layer()).__name__


def broker_check(url: str | None = None) -> str:
    """Connect to the broker with our credentials and wait for its CONNACK."""
    address = BrokerAddress.from_url(url or settings.MQTT_URL)
    client = client_create(address, client_id=f"maintainx-health-{socket.gethostname()}-{threading.get_ident()}"[:64])
    answered = threading.Event()
    outcome: list[mqtt.ReasonCode] = []

    def on_connect(client, userdata, flags, reason_code, properties):
        outcome.append(reason_code)
        answered.set()

    client.on_connect = on_connect
    client.connect(address.host, address.port, keepalive=10)
    client.loop_start()
    try:
        if not answered.wait(CHECK_TIMEOUT_S):
            raise TimeoutError(f"no answer from {address} within {CHECK_TIMEOUT_S:g} s")
        if outcome[0].is_failure:
            raise ConnectionRefusedError(f"{address} refused the connection: {outcome[0]}")
    finally:
        client.disconnect()
        client.loop_stop()
    return str(address)


def readiness(*, broker: bool = False) -> list[CheckResult]:
    checks = [_timed("database", database_check), _timed("channel_layer", channel_layer_check)]
    if broker:
        checks.append(_timed("broker", broker_check))
    return checks


def readiness_response(checks: list[CheckResult]) -> JsonResponse:
    ready = all(check.ok for check in checks)
    return JsonResponse(
        {
            "status": "ready" if ready else "not ready",
            "checks": {
                check.name: {"ok": check.ok, "detail": check.detail, "ms": check.milliseconds} for check in checks
            },
        },
        status=200 if ready else 503,
    )


class HealthCheckMiddleware:
    """Answers GET /healthz and /readyz before host validation and the HTTPS redirect (see the module)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD"):
            if request.path == "/healthz":
                return JsonResponse({"status": "ok"})
            if request.path == "/readyz":
                return readiness_response(readiness(broker=request.GET.get("broker") == "1"))
        return self.get_response(request)
