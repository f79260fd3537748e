"""A dashboard for the whole-system suite (bench/system.py): one manager watching /ws/plant/.

It behaves as the React dashboard's live socket does (frontend/src/lib/live-socket.js): session
login (CSRF cookie, then POST /api/auth/login/), the plant socket with the page's Origin, and when
the socket drops, reconnects with backoff (full jitter, 0.5 s doubling to 15 s) and then fetches
what it missed: `GET /api/alerts/?since=` and `/api/tickets/?since=`, from 5 s before the drop.

Every event goes to the events file as one JSON line with the wall-clock instant it happened:
open, dropped, push (an alert, ticket or machine frame), telemetry (frames counted over a second),
catch-up (what the REST catch-up returned), error. The suite reads
that file; this process measures nothing itself. SIGTERM stops it.

    system_client.py --base-url http://127.0.0.1:8000 --username manager --password ... --events FILE
"""

import argparse
import datetime
import json
import random
import signal
import threading
import time
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import connect

CATCH_UP_MARGIN = datetime.timedelta(seconds=5)
# Closed by the server on purpose (HTTP 401/403/404 in websocket form): sign in again, or give up.
SIGNED_OUT, NO_ROLE, NOT_FOUND = 4401, 4403, 4404


def backoff_delay(attempt: int, *, base: float = 0.5, ceiling: float = 15.0) -> float:
    limit = min(ceiling, base * 2**attempt)
    return limit / 2 + random.random() * limit / 2  # noqa: S311 - jitter, not a secret


class EventLog:
    def __init__(self, path: Path):
        self._file = path.open("a")
        self._lock = threading.Lock()

    def write(self, event: str, **fields) -> None:
        line = json.dumps({"at": time.time(), "event": event, **fields})
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()


class Session:
    """The browser's side of the session: cookies and the CSRF header, over plain urllib."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.base_url))
        self.cookies: dict[str, str] = {}

    def _remember(self, response) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 10.0):
        url = path if path.startswith("http") else self.base_url + path
        headers = {"Accept": "application/json", "Origin": self.origin}
        if self.cookies:
            headers["Cookie"] = self.cookie_header
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - our own server
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own server
            self._remember(response)
            return json.loads(response.read() or b"null")

    def login(self, username: str, password: str) -> None:
        self.cookies.clear()
        self.request("GET", "/api/auth/csrf/")
        self.request("POST", "/api/auth/login/", {"username": username, "password": password})
        if "sessionid" not in self.cookies:
            raise RuntimeError("the login answered without a session cookie")

    def all_pages(self, path: str, params: dict) -> list[dict]:
        results = []
        url = f"{path}?{urlencode(params)}"
        while url:
            page = self.request("GET", url)
            results.extend(page["results"])
            url = page["next"]
        return results


class Dashboard:
    def __init__(self, *, session: Session, username: str, password: str, events: EventLog):
        self.session = session
        self.username, self.password = username, password
        self.events = events
        self.stop = threading.Event()

    def socket_url(self) -> str:
        return self.session.origin.replace("http", "ws", 1) + "/ws/plant/"

    def run(self) -> None:
        self.session.login(self.username, self.password)
        self.events.write("login")
        attempt = 0
        dropped_at: datetime.datetime | None = None
        while not self.stop.is_set():
            try:
                with connect(
                    self.socket_url(),
                    origin=self.session.origin,
                    additional_headers={"Cookie": self.session.cookie_header},
                    open_timeout=10,
                ) as socket:
                    attempt = 0
                    self.events.write("open")
                    if dropped_at is not None:
                        self.catch_up(since=dropped_at)
                        dropped_at = None
                    self.relay(socket)
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else None
                self.events.write("dropped", code=code, detail=str(closed))
                if code == SIGNED_OUT:
                    self.relogin()
                elif code in (NO_ROLE, NOT_FOUND):
                    raise SystemExit(f"the server refused the socket for good ({code})") from None
            except (OSError, InvalidStatus, WebSocketException, TimeoutError) as exc:
                self.events.write("error", detail=f"connect: {type(exc).__name__}: {exc}")
            if self.stop.is_set():
                break
            if dropped_at is None:
                dropped_at = datetime.datetime.now(datetime.UTC) - CATCH_UP_MARGIN
            self.stop.wait(backoff_delay(attempt))
            attempt += 1

    def relay(self, socket) -> None:
        """Alert, ticket and machine frames go to the events file as they come; telemetry frames,
        five a second and more, only as counts once a second."""
        frames = readings = 0
        next_count = time.monotonic() + 1
        while not self.stop.is_set():
            if time.monotonic() >= next_count and frames:
                self.events.write("telemetry", frames=frames, readings=readings)
                frames = readings = 0
                next_count = time.monotonic() + 1
            try:
                text = socket.recv(timeout=0.5)
            except TimeoutError:
                continue
            try:
                frame = json.loads(text)
            except ValueError:
                continue  # not ours to interpret; the server only sends JSON
            if frame.get("type") == "telemetry":
                frames += 1
                readings += len(frame.get("readings", ()))
            else:
                self.events.write("push", frame=frame)

    def relogin(self) -> None:
        attempt = 0
        while not self.stop.is_set():
            try:
                self.session.login(self.username, self.password)
                self.events.write("login")
                return
            except (OSError, urllib.error.URLError, RuntimeError, ValueError) as exc:
                self.events.write("error", detail=f"login: {exc}")
            self.stop.wait(backoff_delay(attempt))
            attempt += 1

    def catch_up(self, *, since: datetime.datetime) -> None:
        """What a reconnecting dashboard fetches; retried (as TanStack Query does) until it answers."""
        attempt = 0
        params = {"since": since.isoformat(), "limit": 100}
        while not self.stop.is_set():
            try:
                alerts = self.session.all_pages("/api/alerts/", params)
                tickets = self.session.all_pages("/api/tickets/", params)
            except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
                self.events.write("error", detail=f"catch-up: {exc}")
                self.stop.wait(backoff_delay(attempt))
                attempt += 1
                continue
            self.events.write(
                "catch-up",
                since=since.isoformat(),
                alerts=[
                    {key: alert[key] for key in ("id", "machine", "error_code", "status", "updated_at")}
                    for alert in alerts
                ],
                tickets=[{key: ticket[key] for key in ("id", "status", "updated_at")} for ticket in tickets],
            )
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--events", required=True)
    args = parser.parse_args()
    dashboard = Dashboard(
        session=Session(args.base_url),
        username=args.username,
        password=args.password,
        events=EventLog(Path(args.events)),
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: dashboard.stop.set())
    dashboard.run()


if __name__ == "__main__":
    main()
