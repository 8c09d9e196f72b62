"""A small round-robin TCP load balancer (asyncio, in a thread of the test process).

It stands where a real load balancer stands in production: the issuer of every instance is the
proxy's address, and each new client connection goes to the next backend in turn. The load
generator sends ``Connection: close``, so one connection carries one request and consecutive
requests of one citizen's flow land on alternating instances.

Failover rule: a backend that refuses the connection (or cannot be connected to at all) is marked
down for a moment and the connection is tried on the next backend. That is safe because not one
byte of the request has reached the refused backend. Once the request has been forwarded, the
proxy never retries it elsewhere, even when the backend dies before answering: the backend may
already have committed what the request asked for (a refresh-token rotation, a login, a consent,
a code redemption) and only the answer was lost. Replaying it on another instance would present a
used refresh token or a used code again, which the provider rightly treats as theft and answers by
revoking every token of that login: a lost answer would become a logged-out citizen. So the client
gets the connection error, and the proxy counts it as ``dropped`` for that backend. (nginx does the
same for POSTs by default: deploy/nginx.conf's ``proxy_next_upstream error timeout`` has no
``non_idempotent``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass

CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Drop:
    """A request that reached ``backend`` and got no answer (the backend died under it)."""

    at: float  # time.monotonic()
    backend: str


class RoundRobinProxy:
    def __init__(self, backends: dict[str, int], *, down_for: float = 0.5) -> None:
        self.backends = dict(backends)  # name -> port on 127.0.0.1
        self.down_for = down_for
        self.port: int | None = None
        self.stats: dict[str, Counter] = {name: Counter() for name in backends}
        self.drops: list[Drop] = []
        self.unserved = 0  # connections no backend accepted
        self._names = list(backends)
        self._turn = 0
        self._down_until = dict.fromkeys(backends, 0.0)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._handlers: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- life cycle ----------------------------------------------------------------------------
    def start(self) -> RoundRobinProxy:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="round-robin-proxy", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    # --- counters ------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {name: dict(counts) for name, counts in self.stats.items()}

    def _count(self, backend: str, what: str) -> None:
        with self._lock:
            self.stats[backend][what] += 1

    # --- routing -------------------------------------------------------------------------------
    def _order(self) -> list[str]:
        """The next backend in turn first; backends marked down last (still tried if all are)."""
        with self._lock:
            start = self._turn
            self._turn = (self._turn + 1) % len(self._names)
            at = time.monotonic()
            turn = self._names[start:] + self._names[:start]
            return [n for n in turn if self._down_until[n] <= at] + [
                n for n in turn if self._down_until[n] > at
            ]

    def _mark_down(self, backend: str) -> None:
        with self._lock:
            self._down_until[backend] = time.monotonic() + self.down_for

    async def _connect(self):
        for name in self._order():
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.backends[name]), CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError):
                # Nothing was sent to this backend: trying the next one cannot repeat anything.
                self._count(name, "refused")
                self._mark_down(name)
                continue
            self._count(name, "connected")
            return name, reader, writer
        return None

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        upstream_writer = None
        try:
            # The start of the request first, then a backend: from the moment it is handed to a
            # backend's connection, the request counts as sent there (and is never replayed).
            first = await client_reader.read(65536)
            if not first:
                client_writer.close()
                return
            upstream = await self._connect()
            if upstream is None:
                with self._lock:
                    self.unserved += 1
                client_writer.transport.abort()
                return
            name, upstream_reader, upstream_writer = upstream
            upstream_writer.write(first)

            async def forward_rest_of_request() -> None:
                with contextlib.suppress(ConnectionError, OSError):
                    await upstream_writer.drain()
                    while data := await client_reader.read(65536):
                        upstream_writer.write(data)
                        await upstream_writer.drain()
                    if upstream_writer.can_write_eof():
                        upstream_writer.write_eof()

            request_task = asyncio.create_task(forward_rest_of_request())
            received = 0
            with contextlib.suppress(ConnectionError, OSError):
                while data := await upstream_reader.read(65536):
                    received += len(data)
                    client_writer.write(data)
                    await client_writer.drain()
            request_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await request_task
            if not received:
                # The request went out and no answer came back: the backend died under it.
                # Not retried (see the module docstring); the client sees the connection fail.
                with self._lock:
                    self.drops.append(Drop(time.monotonic(), name))
                self._count(name, "dropped")
                self._mark_down(name)
                client_writer.transport.abort()
                return
            self._count(name, "answered")
            client_writer.close()
        except asyncio.CancelledError:
            client_writer.transport.abort()
        except (ConnectionError, OSError):
            client_writer.transport.abort()  # the client went away
        finally:
            if upstream_writer is not None:
                upstream_writer.close()
            self._handlers.discard(task)
