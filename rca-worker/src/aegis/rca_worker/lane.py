"""Where an analysis's CPU-bound stretches run: inline for the one waited for, in a thread for a crowd.

Decoding a trace search or a metrics matrix, digesting the traces, mining log templates and ranking
each take tens to hundreds of milliseconds of pure Python. On the event loop nothing else moves
meanwhile, so a Feishu question that arrives while an API analysis digests its traces waits for the
whole stretch before it is even picked up, and its backend answers wait too (stretches of 200-350
ms were measured). An API or CLI analysis of the worker therefore runs them in a thread: the
interpreter hands the GIL over every `sys.getswitchinterval()` (5 ms), so the loop reads its
sockets and the Feishu analysis's calls go on while the stretch runs. Before each stretch it also
waits its turn (no Feishu analysis running, `service.questions.FeishuFirst`), and all of them take
one `shared` lock, so at most one such stretch shares the CPU with a Feishu question: one that
began before it came.

The analysis that others make way for (a Feishu question; an offline `aegis eval`) runs its stretches
inline: they are on its own critical path, and in a thread each of its answers would wait for a GIL
hand-off. The work itself is the same pure function either way.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class CpuLane:
    """Runs an analysis's CPU-bound stretches: inline, or (given the replica's `shared` lock) in a
    thread, one at a time with every other lane holding that lock, each after `wait_turn`."""

    def __init__(
        self, wait_turn: Callable[[], Awaitable[None]] | None = None, shared: asyncio.Lock | None = None
    ) -> None:
        self._wait_turn = wait_turn
        self._shared = shared

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work(*args, **kwargs)` once this lane's turn has come; its result."""
        if self._shared is None:
            if self._wait_turn is not None:
                await self._wait_turn()
            return work(*args, **kwargs)
        async with self._shared:
            if self._wait_turn is not None:
                await self._wait_turn()
            return await asyncio.to_thread(work, *args, **kwargs)
