"""Notification latency: from a ticket's commit to its Web Push payload decrypted at the push endpoint
and its email accepted by the SMTP server, with the sender running as it does in the demo (a thread
of the same process, woken by the commit).

On a fresh PostgreSQL database it makes a technician with one push subscription (to a local push
endpoint that decrypts with the subscription's keys: notifications/tests/servers.py) and an email
address (a local aiosmtpd server), starts NotificationSender.run in a thread, then opens --tickets
tickets assigned to the technician, one every --gap seconds, and waits for each one's push and email.
It prints the median, p95 and max of each, and of the ticket's own transaction (which never waits on
a delivery). The flood digest is set out of the way (NOTIFY_DIGEST_AFTER) so every ticket is paged.

    .venv/bin/python bench/notification_latency.py --tickets 50
"""

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.benchdb import database_drop, database_recreate
from notifications.tests.servers import PushService, SmtpServer
from notifications.vapid import vapid_keys_generate

DATABASE_NAME = "mx_bench_notifications"


def _wait_for(condition, *, timeout: float = 30.0) -> float:
    """perf_counter() once `condition()` holds (polled every millisecond)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if condition():
            return time.perf_counter()
        time.sleep(0.001)
    raise TimeoutError("the notification did not arrive")


def _summary(name: str, seconds: list[float]) -> str:
    ms = sorted(1000 * value for value in seconds)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    return f"{name:<34} median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   max {ms[-1]:7.1f} ms"


def measure(args, *, push_service: PushService, smtp_server: SmtpServer) -> None:
    import django  # noqa: PLC0415 - after DATABASE_URL points at the benchmark's database

    django.setup()
    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.db import connections  # noqa: PLC0415

    from core.roles import Role, user_set_role  # noqa: PLC0415
    from notifications.services import NotificationSender, push_subscription_save  # noqa: PLC0415
    from telemetry.tests.factories import MachineFactory  # noqa: PLC0415
    from tickets.services import ticket_create  # noqa: PLC0415

    technician = get_user_model().objects.create_user(username="bench-tech", email="bench-tech@plant.example")
    user_set_role(user=technician, role=Role.TECHNICIAN)
    endpoint = push_service.endpoint("tablet")
    keys = push_service.keys["tablet"].subscription_json(endpoint)["keys"]
    push_subscription_save(user=technician, endpoint=endpoint, p256dh=keys["p256dh"], auth=keys["auth"])
    machine = MachineFactory(code="M-BENCH")

    sender = NotificationSender()
    thread = threading.Thread(target=sender.run, kwargs={"interval": args.interval}, daemon=True)
    thread.start()
    transaction_s, push_s, email_s = [], [], []
    try:
        for number in range(args.tickets):
            started = time.perf_counter()
            ticket_create(machine=machine, title=f"Bench ticket {number}", assignee=technician)
            committed = time.perf_counter()
            pushed = _wait_for(lambda n=number: len(push_service.received) > n)
            mailed = _wait_for(lambda n=number: len(smtp_server.messages) > n)
            transaction_s.append(committed - started)
            push_s.append(pushed - committed)
            email_s.append(mailed - committed)
            time.sleep(args.gap)
    finally:
        sender.request_stop()
        thread.join(timeout=10)
        connections.close_all()
    if push_service.problems:
        raise SystemExit(f"the push endpoint refused what it got: {push_service.problems}")
    print(f"{args.tickets} tickets, sender woken by the commit (poll interval {args.interval:g} s):")
    print(_summary("ticket transaction (ticket_create)", transaction_s))
    print(_summary("commit -> push decrypted", push_s))
    print(_summary("commit -> email accepted", email_s))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=50)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between two tickets (0.2)")
    parser.add_argument("--interval", type=float, default=2.0, help="the sender's poll interval (2)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help=f"a PostgreSQL server; the benchmark creates its own database {DATABASE_NAME} there",
    )
    args = parser.parse_args()
    url = database_recreate(args.database_url, DATABASE_NAME)
    push_service, smtp_server = PushService().start(), SmtpServer().start()
    public_key, private_key = vapid_keys_generate()
    secret_key = "bench-notifications-only"  # noqa: S105 - signs nothing here
    os.environ.update(
        DATABASE_URL=url,
        DEBUG="0",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}",
        VAPID_PUBLIC_KEY=public_key,
        VAPID_PRIVATE_KEY=private_key,
        VAPID_SUBJECT="mailto:bench@plant.example",
        NOTIFY_DIGEST_AFTER="1000",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maintainx.settings")
    try:
        measure(args, push_service=push_service, smtp_server=smtp_server)
    finally:
        push_service.stop()
        smtp_server.stop()
        database_drop(args.database_url, DATABASE_NAME)


if __name__ == "__main__":
    main()
