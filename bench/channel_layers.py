"""Channel-layer fan-out benchmark: channels-redis' RedisChannelLayer against RedisPubSubChannelLayer
for what the dashboard does: one frame to the `plant` group, delivered to every open dashboard.

Several web processes are simulated as several layer instances (each its own Redis connections),
each holding its share of the group's channels, every channel read by its own task as a consumer
would. For each layer it sends the frames at a steady rate and prints deliveries per second, the
push → receive latency (p50, p95) and the Redis commands the sends cost, side by side.

    .venv/bin/python bench/channel_layers.py --sockets 200 --processes 4 --frames 200
"""

import argparse
import asyncio
import contextlib
import os
import statistics
import time

import redis.asyncio as redis
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer

GROUP = "bench-plant"


async def commands_processed(url: str) -> int:
    client = redis.from_url(url)
    try:
        return int((await client.info("stats"))["total_commands_processed"])
    finally:
        await client.aclose()


async def run(layer_class, *, url: str, sockets: int, processes: int, frames: int, rate: float) -> dict:
    layers = [layer_class(hosts=[url]) for _ in range(processes)]
    channels = []
    for index in range(sockets):
        layer = layers[index % processes]
        channel = await layer.new_channel()
        await layer.group_add(GROUP, channel)
        channels.append((layer, channel))
    latencies: list[float] = []
    received = 0
    done = asyncio.Event()

    async def consume(layer, channel):
        nonlocal received
        while True:
            message = await layer.receive(channel)
            latencies.append(time.perf_counter() - message["sent"])
            received += 1
            if received == sockets * frames:
                done.set()

    consumers = [asyncio.create_task(consume(layer, channel)) for layer, channel in channels]
    await asyncio.sleep(0.5)  # subscriptions settle
    before = await commands_processed(url)
    started = time.perf_counter()
    sender = layers[0]
    for _ in range(frames):
        await sender.group_send(GROUP, {"type": "plant.event", "sent": time.perf_counter()})
        await asyncio.sleep(1 / rate)
    with contextlib.suppress(TimeoutError):  # a frame lost is counted, not waited for forever
        await asyncio.wait_for(done.wait(), timeout=60)
    elapsed = time.perf_counter() - started
    after = await commands_processed(url)
    for task in consumers:
        task.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    for layer, channel in channels:
        await layer.group_discard(GROUP, channel)
    for layer in layers:
        await layer.flush()
        close = getattr(layer, "close_pools", None)
        if close:
            await close()
    latencies.sort()
    return {
        "delivered": received,
        "expected": sockets * frames,
        "rate": received / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000 if latencies else float("nan"),
        "commands_per_frame": (after - before) / frames,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15")
    parser.add_argument("--sockets", type=int, default=200, help="dashboards in the plant group (200)")
    parser.add_argument("--processes", type=int, default=4, help="web processes they are spread over (4)")
    parser.add_argument("--frames", type=int, default=200, help="frames sent to the group (200)")
    parser.add_argument("--rate", type=float, default=50.0, help="frames per second (50)")
    args = parser.parse_args()
    print(
        f"channel-layer fan-out: {args.frames} frames at {args.rate:g}/s to a group of {args.sockets} channels "
        f"over {args.processes} layer instances, Redis {args.redis_url}, {os.cpu_count()} cores"
    )
    print(f"  {'':28} {'delivered':>16} {'per second':>11} {'p50':>9} {'p95':>9} {'Redis cmds/frame':>17}")
    for name, layer_class in (
        ("RedisChannelLayer", RedisChannelLayer),
        ("RedisPubSubChannelLayer", RedisPubSubChannelLayer),
    ):
        result = await run(
            layer_class,
            url=args.redis_url,
            sockets=args.sockets,
            processes=args.processes,
            frames=args.frames,
            rate=args.rate,
        )
        print(
            f"  {name:28} {result['delivered']:>7,} / {result['expected']:<7,} {result['rate']:>11,.0f} "
            f"{result['p50_ms']:>7.1f}ms {result['p95_ms']:>7.1f}ms {result['commands_per_frame']:>17.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
