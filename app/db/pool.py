"""The async engines' connection pool, serving requests that wait for a connection in the order they came.

SQLAlchemy's ``AsyncAdaptedQueuePool`` wakes the longest waiter when a connection comes back, but a request that
arrives before the woken one runs takes the connection first, and the woken request finds the queue empty and
waits again at the back of the line. Under sustained load (more requests in flight than connections) the same
request can lose that race for as long as the load lasts, and then fail with the pool's timeout (measured in
``bench/README.md``, "Requests that waited seconds for a connection").

Here a returned connection goes straight to the first request still waiting, and a newcomer queues behind the
waiters instead of taking it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util.concurrency import await_
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty


class FirstComeQueue(AsyncAdaptedQueue[ConnectionPoolEntry]):
    """A pool queue that hands each returned connection to the request that has waited longest."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._waiters: deque[asyncio.Future[ConnectionPoolEntry]] = deque()

    def _someone_waits(self) -> bool:
        # Waiters that timed out or were cancelled leave their future done; they are dropped here or when skipped.
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()
        return bool(self._waiters)

    def put_nowait(self, item: ConnectionPoolEntry) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        super().put_nowait(item)

    def get(self, block: bool = True, timeout: float | None = None) -> ConnectionPoolEntry:
        if not self._someone_waits():
            try:
                return self._queue.get_nowait()
            except asyncio.QueueEmpty:
                pass
        if not block:
            raise Empty()
        entry: ConnectionPoolEntry = await_(self._wait(timeout))
        return entry

    # The timeout is SQLAlchemy's pool_timeout, handed in by the pool API; a timer (not asyncio.timeout) ends the wait.
    async def _wait(self, timeout: float | None) -> ConnectionPoolEntry:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[ConnectionPoolEntry] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(timeout, _give_up, waiter) if timeout is not None else None
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed a connection in the same moment the wait ended (cancelled): pass it on, or it is lost.
                self.put_nowait(waiter.result())
            else:
                waiter.cancel()
            raise
        finally:
            if timer is not None:
                timer.cancel()


def _give_up(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(Empty())  # the pool turns it into its TimeoutError (a 503 for the client)


class FirstComePool(AsyncAdaptedQueuePool):
    """``AsyncAdaptedQueuePool`` with waiting requests served in order (see the module's docstring)."""

    _queue_class = FirstComeQueue
