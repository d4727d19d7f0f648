"""The default executor: one thread per render slot in this process, each driving its own
render process (rendering happens in those processes, so the GIL is not the bottleneck)."""
from __future__ import annotations

import threading

from simedit.render.run.executors.base import Executor, Job


class ThreadExecutor(Executor):
    name = "threads"

    def run(self, job: Job) -> None:
        failures: list[BaseException] = []

        def slot_loop(k: int) -> None:
            slot = None
            try:
                slot = job.make_slot(k)
                while (index := job.next_index()) is not None:
                    result = slot.sample(index, job.stop)
                    if result is None:  # stopped mid-index: it stays undone
                        return
                    job.deliver(result)
            except BaseException as exc:  # stop the other slots; the caller re-raises
                failures.append(exc)
                job.stop.set()
            finally:
                if slot is not None:
                    slot.close()

        threads = [threading.Thread(target=slot_loop, args=(i,), name=f"slot{i}", daemon=True) for i in range(job.slots)]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.5)
        except KeyboardInterrupt:
            job.stop.set()
            raise
        if failures:
            raise failures[0]
