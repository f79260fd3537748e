"""The throwaway Redis server that outage benchmarks stop and start (testing/throwaway.py)."""

import shutil
import socket

import pytest

from testing.throwaway import RedisServer

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")


def redis_command(port: int, command: str) -> bytes:
    """One inline command (RESP's plain-text form) and the first line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(command.encode() + b"\r\n")
        answer = b""
        while not answer.endswith(b"\r\n"):
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n")[0]


@pytest.fixture
def redis_server():
    server = RedisServer().start()
    yield server
    server.destroy()


def test_redis_server_answers_on_its_own_port(redis_server):
    assert redis_server.port != 6379
    assert redis_server.url() == f"redis://127.0.0.1:{redis_server.port}/0"
    assert redis_command(redis_server.port, "PING") == b"+PONG"


def test_redis_server_restarted_keeps_nothing(redis_server):
    assert redis_command(redis_server.port, "SET outage-marker 1") == b"+OK"
    redis_server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", redis_server.port), timeout=1)
    redis_server.start()
    assert redis_command(redis_server.port, "GET outage-marker") == b"$-1"  # nil: nothing was saved


def test_redis_server_destroy_removes_its_directory(redis_server):
    directory = redis_server.directory
    assert (directory / "redis.log").exists()
    redis_server.destroy()
    assert not directory.exists()
    redis_server.destroy()  # a second destroy is harmless
