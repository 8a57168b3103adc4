"""Send JSON requests at a fixed rate or as fast as they come back, and time them.

Open loop: request i is due at start + i / rate and leaves then, whether or not
the earlier ones have been answered, so a slow server shows up as latency
instead of quietly lowering the offered load. Latency counts from the due time,
so a load generator that falls behind cannot hide the delay either.

Closed loop: a fixed number of clients, each sending its next request as soon
as its previous one is answered; the answers per second are the throughput the
server sustains.
"""

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import httpx

# Enough of an error answer to read the reason, not a whole HTML error page.
KEPT_BODY_LENGTH = 600


@dataclass
class Sample:
    index: int
    # 0 when no HTTP answer came back (refused connection, timeout).
    status: int
    latency_seconds: float
    # Wall-clock time the request left, comparable with database timestamps.
    sent_at: float
    # Kept for answers outside 2xx only.
    body: str = ""

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class LoadResult:
    samples: list[Sample]
    elapsed_seconds: float
    # Open loop: the latest any request left after its due time.
    most_behind_seconds: float = 0.0

    def status_counts(self) -> Counter:
        return Counter(sample.status for sample in self.samples)

    def successes(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.is_success]

    def throughput(self) -> float:
        if self.elapsed_seconds <= 0:
            return 0.0
        return len(self.successes()) / self.elapsed_seconds

    def latency_ms(self, percent: float) -> float | None:
        latencies = [sample.latency_seconds for sample in self.successes()]
        value = percentile(latencies, percent)
        return None if value is None else value * 1000


def combined(results: list[LoadResult]) -> LoadResult:
    """Several runs as one: every sample, and the time they took together."""
    return LoadResult(
        samples=[sample for result in results for sample in result.samples],
        elapsed_seconds=sum(result.elapsed_seconds for result in results),
        most_behind_seconds=max(
            (result.most_behind_seconds for result in results), default=0.0
        ),
    )


def percentile(values: list[float], percent: float) -> float | None:
    """Nearest rank: the smallest value with `percent` of all at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def json_client(
    base_url: str, token: str, connections: int, timeout: float, trust_env: bool = True
) -> httpx.AsyncClient:
    """An HTTP/1.1 client that sends pre-encoded JSON with a bearer token."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        limits=httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections
        ),
        timeout=httpx.Timeout(timeout),
        trust_env=trust_env,
    )


async def send(
    client: httpx.AsyncClient, path: str, index: int, body: bytes, started: float
) -> Sample:
    loop = asyncio.get_running_loop()
    sent_at = time.time()
    try:
        response = await client.post(path, content=body)
    except httpx.HTTPError as error:
        return Sample(
            index,
            0,
            loop.time() - started,
            sent_at,
            body=f"{type(error).__name__}: {error}"[:KEPT_BODY_LENGTH],
        )

    latency = loop.time() - started
    kept = "" if 200 <= response.status_code < 300 else response.text
    return Sample(
        index, response.status_code, latency, sent_at, body=kept[:KEPT_BODY_LENGTH]
    )


async def open_loop(
    client: httpx.AsyncClient,
    path: str,
    bodies: list[bytes],
    rate: float,
    *,
    max_in_flight: int = 1000,
    time_limit: float | None = None,
    progress: Callable[[list[Sample], int], None] | None = None,
    progress_every: float = 5.0,
) -> LoadResult:
    """Send body i at start + i / rate; return when every request is answered.

    At most `max_in_flight` requests wait at once. Past that the generator
    waits too, and the delay shows in `most_behind_seconds` and the latencies.
    Requests still unanswered `time_limit` seconds after the start are given
    up and count as unanswered (status 0).
    """
    loop = asyncio.get_running_loop()
    samples: list[Sample] = []
    in_flight: set[asyncio.Task] = set()
    most_behind = 0.0

    async def timed(index: int, body: bytes, due: float) -> None:
        sent_at = time.time()
        try:
            samples.append(await send(client, path, index, body, due))
        except asyncio.CancelledError:
            samples.append(
                Sample(
                    index,
                    0,
                    loop.time() - due,
                    sent_at,
                    body="Given up at the time limit.",
                )
            )

    start = loop.time()
    next_report = start + progress_every
    for index, body in enumerate(bodies):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        while len(in_flight) >= max_in_flight:
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        most_behind = max(most_behind, loop.time() - due)

        task = asyncio.create_task(timed(index, body, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)

        if progress is not None and loop.time() >= next_report:
            progress(samples, index + 1)
            next_report += progress_every

    if in_flight:
        remaining = None
        if time_limit is not None:
            remaining = max(0.0, start + time_limit - loop.time())
        _, late = await asyncio.wait(in_flight, timeout=remaining)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
    elapsed = loop.time() - start
    samples.sort(key=lambda sample: sample.index)
    return LoadResult(samples, elapsed, most_behind)


async def closed_loop(
    client: httpx.AsyncClient,
    path: str,
    bodies: list[bytes],
    clients: int,
    time_limit: float | None = None,
) -> LoadResult:
    """Send every body with `clients` requests outstanding at all times.

    After `time_limit` seconds the clients send nothing new; the bodies left
    are not sent and not counted.
    """
    loop = asyncio.get_running_loop()
    samples: list[Sample] = []
    # One iterator shared by the clients: each body is sent exactly once.
    queue = iter(enumerate(bodies))

    async def client_loop() -> None:
        for index, body in queue:
            samples.append(await send(client, path, index, body, loop.time()))
            if time_limit is not None and loop.time() - start > time_limit:
                return

    start = loop.time()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    elapsed = loop.time() - start
    samples.sort(key=lambda sample: sample.index)
    return LoadResult(samples, elapsed)
