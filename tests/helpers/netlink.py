"""A simulated internet link for benchmarks: a TCP proxy on loopback that delays every byte by a fixed one-way
latency and caps each direction's rate, so a server on this machine can be measured as a visitor far away
would see it (``make bench-static``: the Gradio webcam and the static page through 40 ms each way and
20 Mbit/s).

Written here (about 50 lines) rather than with ``tc netem``: netem needs a network interface of its own and
root in a namespace, where this runs in the benchmark's own process around any loopback port.
"""

from __future__ import annotations

import asyncio
import threading
import time


class Link:
    """``Link(target_port, delay_s=0.04, mbit_s=20).start()`` listens on ``.port`` and forwards to ``target_port``."""

    def __init__(self, target_port: int, *, delay_s: float = 0.04, mbit_s: float = 20.0) -> None:
        self.target_port, self.delay, self.rate = target_port, delay_s, mbit_s * 1e6 / 8
        self.port = 0
        self._loop = asyncio.new_event_loop()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One direction: each chunk leaves after the link's rate lets it and arrives ``delay`` later."""
        queue: asyncio.Queue = asyncio.Queue()
        free_at = 0.0

        async def deliver() -> None:
            while (item := await queue.get()) is not None:
                due, chunk = item
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(chunk)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while chunk := await reader.read(16384):
                free_at = max(time.monotonic(), free_at) + len(chunk) / self.rate  # serialised at the link's rate
                await asyncio.sleep(max(0.0, free_at - time.monotonic()))
                queue.put_nowait((free_at + self.delay, chunk))
        except ConnectionError:
            pass
        queue.put_nowait(None)
        await sender

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    def start(self) -> Link:
        async def serve() -> None:
            server = await asyncio.start_server(self._client, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]

        threading.Thread(target=self._loop.run_forever, daemon=True).start()  # its own thread: the caller's may
        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(timeout=10)  # run a loop already (Playwright)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
