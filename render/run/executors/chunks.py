"""Chunks of indices for executors whose slots live elsewhere (run/executors/ray.py).

The driver's cursor (`next_index`) is cut into chunks of `size` consecutive indices. A chunk
whose slot was lost (a node died, an actor crashed) goes back to the front of the queue and is
handed out again before any new index, even after the run has enough pairs: every index handed
out must finish, or the first n accepted indices would not be those of a local run. A chunk
lost `max_tries` times stops the run.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from simedit.render.common.errors import SimEditError

MAX_TRIES = 3


@dataclass
class Chunk:
    indices: list[int]
    tries: int = 0

    def __str__(self) -> str:
        i = self.indices
        return f"{i[0]}" if len(i) == 1 else f"{i[0]}..{i[-1]}" if i == list(range(i[0], i[-1] + 1)) else str(i)


class ChunkQueue:
    def __init__(self, next_index: Callable[[], int | None], size: int, max_tries: int = MAX_TRIES):
        self.next_index, self.size, self.max_tries = next_index, max(1, size), max_tries
        self.retry: deque[Chunk] = deque()

    def take(self) -> Chunk | None:
        """A lost chunk again, else the next `size` indices; None when there is no more work."""
        if self.retry:
            return self.retry.popleft()
        indices: list[int] = []
        while len(indices) < self.size and (i := self.next_index()) is not None:
            indices.append(i)
        return Chunk(indices) if indices else None

    def lost(self, chunk: Chunk, why: str) -> None:
        """`chunk` did not finish (its slot is gone): queue it again, first."""
        chunk.tries += 1
        if chunk.tries >= self.max_tries:
            raise SimEditError(f"indices {chunk} were lost {chunk.tries} times (last: {why}); stopping",
                               field="--executor")
        self.retry.appendleft(chunk)
