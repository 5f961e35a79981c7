"""``nn-tui sweep --scheduler``: the sweep's stacks as tasks of a Dask distributed cluster.

The grid is grouped exactly as on one machine (``stack_groups``), one task per stack,
and the results come back as they complete into the same table and CSV: the cluster
replaces only the process pool of ``engine.experiments.sweep.run_sweep``.

What crosses the network is plain data: each task gets config dicts, run numbers and
two names, and returns the sweep's result rows (dicts of numbers, text and lists),
never a trainer. Dask still ships the task *function* by name (cloudpickle), so the
workers must have nn-tui installed, and anyone who can reach the scheduler can run
code on the workers: keep it on a trusted network, or use ``tls://`` (README).

A task cannot be killed the way a worker process is, so ctrl-c is cooperative: it
sets a ``distributed.Event`` that every task asks between chunks of training (a
quarter of a second), and each stops there. Dask is optional (``nn-tui[cluster]``):
this module imports it only inside functions, and says how to install it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tui.cli.errors import CliError

PROGRESS_TOPIC = "nn-tui-sweep-progress"  # one topic, sweeps told apart by their id
INSTALL_HINT = '--scheduler needs dask: pip install "nn-tui[cluster]"'
DEFAULT_TIMEOUT = 10.0  # seconds to reach a scheduler and find a worker there
RESULT_WAIT = 0.1  # seconds between looks at the finished tasks


# --- in a worker -------------------------------------------------------------------------------
def sweep_task(configs: list[dict[str, Any]], runs: list[int], stop: str,
               sweep_id: str | None) -> list[dict[str, Any]]:
    """One stack (or one run) of the grid on a Dask worker: the same function a worker
    process of the local pool calls, with a stop flag and progress over the cluster.
    ``sweep_id`` None: nobody watches the progress, so none is sent."""
    from engine.experiments.sweep import run_one, run_stack

    should_stop = _StopFlag(stop)
    report = _Progress(sweep_id) if sweep_id else None
    if len(runs) == 1:  # as the process pool does: a run alone trains alone
        return [run_one(configs[0], runs[0], should_stop=should_stop, report=report)]
    return run_stack(configs, runs, should_stop=should_stop, report=report)


class _StopFlag:
    """True once the sweep's stop event is set, or once this task is no longer wanted
    (its client cancelled it or went away): either way its results would be lost."""

    def __init__(self, name: str) -> None:
        from distributed import Event, get_worker

        self.event = Event(name)
        self.worker = get_worker()
        self.key = self.worker.get_current_task()

    def __call__(self) -> bool:
        task = self.worker.state.tasks.get(self.key)
        if task is None or task.state == "cancelled":
            return True
        return self.event.is_set()


class _Progress:
    """Sends a task's progress to the client as worker events, at most four times a
    second, each send the latest update of every run of the stack."""

    def __init__(self, sweep_id: str) -> None:
        from distributed import get_worker

        from engine.experiments.sweep import PROGRESS_SECONDS

        self.worker = get_worker()
        self.sweep_id = sweep_id
        self.every = PROGRESS_SECONDS
        self.latest: dict[int, dict[str, Any]] = {}
        self.sent = 0.0

    def __call__(self, update: dict[str, Any]) -> None:
        self.latest[update["run"]] = update
        now = time.monotonic()
        if now - self.sent >= self.every * 0.8:  # one send per chunk of the whole stack
            self.sent = now
            self.worker.log_event(PROGRESS_TOPIC, {"sweep": self.sweep_id,
                                                   "updates": list(self.latest.values())})
            self.latest = {}


# --- in the client -----------------------------------------------------------------------------
class Cluster:
    """A connection to a Dask scheduler (or a local cluster started for it), for one
    sweep (``connect``)."""

    def __init__(self, client: Any, address: str, local: Any = None) -> None:
        self.client = client
        self.address = address
        self.local = local

    @property
    def threads(self) -> int:
        """The worker threads the cluster has now: how many tasks run at once."""
        return sum(self.client.nthreads().values())

    @property
    def where(self) -> str:
        return "a local Dask cluster" if self.local else f"the Dask cluster at {self.address}"

    def close(self) -> None:
        self.client.close()
        if self.local is not None:
            self.local.close()

    def run(
        self,
        configs: Sequence[Any],
        workers: int,
        on_result: Callable[[dict[str, Any]], None] | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        stack: bool = True,
    ) -> list[dict[str, Any]]:
        """As ``engine.experiments.sweep.run_sweep``, on the cluster: the grid grouped
        for ``workers``, one task per stack, ``on_result`` as each run comes back. On
        Ctrl-C or an exception in a callback, the tasks are told to stop first."""
        from engine.config.experiment import ExperimentConfig
        from engine.experiments.sweep import stack_groups

        dicts = [c.to_dict() if isinstance(c, ExperimentConfig) else dict(c) for c in configs]
        groups = stack_groups(dicts, workers) if stack else [[i] for i in range(len(dicts))]
        sweep_id = uuid.uuid4().hex
        stop = f"nn-tui-sweep-stop-{sweep_id}"
        updates: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        if on_progress is not None:
            self.client.subscribe_topic(PROGRESS_TOPIC, _progress_handler(sweep_id, updates))
        futures = {
            self.client.submit(sweep_task, [dicts[i] for i in runs], runs, stop,
                               sweep_id if on_progress else None, pure=False): runs
            for runs in groups
        }
        try:
            return self._collect(futures, dicts, on_result, on_progress, updates)
        except BaseException:
            self._stop(stop, futures)
            raise
        finally:
            if on_progress is not None:
                self.client.unsubscribe_topic(PROGRESS_TOPIC)

    def _collect(self, futures: dict, dicts: list[dict[str, Any]], on_result, on_progress,
                 updates: queue.SimpleQueue) -> list[dict[str, Any]]:
        """The results as their tasks complete (``distributed.as_completed``), progress
        between them; a task that failed (a worker lost) fails its runs' rows."""
        from distributed import as_completed

        results: list[dict[str, Any] | None] = [None] * len(dicts)
        finished = as_completed(list(futures), loop=self.client.loop)
        while not finished.is_empty():
            _drain(updates, on_progress, results, wait=RESULT_WAIT)
            for future in finished.next_batch(block=False):
                for result in _rows(future, futures[future], dicts):
                    results[result["run"]] = result
                    if on_result is not None:
                        on_result(result)
        return results  # type: ignore[return-value]

    def _stop(self, stop: str, futures: dict) -> None:
        """Tell the running tasks to stop (they look between chunks) and drop the rest.
        The event stays set on the scheduler (a name and a flag): a task that has not
        yet looked must still see it after this client has gone."""
        from distributed import Event

        with contextlib.suppress(Exception):
            Event(stop, client=self.client).set()
            self.client.cancel(list(futures))


def _rows(future: Any, runs: list[int], dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A task's rows, as the process pool's (``_task_results``); a task the cluster
    cancelled (a scheduler restarted by its owner) fails its runs with that message."""
    from engine.experiments.sweep import _task_results, empty_result

    if not future.cancelled():
        return _task_results(future, runs, dicts)
    failed = [empty_result(dicts[i], i) for i in runs]
    for result in failed:
        result["message"] = "the cluster cancelled this run's task"
    return failed


def _progress_handler(sweep_id: str, updates: queue.SimpleQueue) -> Callable:
    """Called in the client's event-loop thread: hands this sweep's updates to the
    thread that shows them."""
    def handler(event: tuple[float, dict[str, Any]]) -> None:
        _, message = event
        if isinstance(message, dict) and message.get("sweep") == sweep_id:
            for update in message.get("updates", ()):
                updates.put(update)
    return handler


def _drain(updates: queue.SimpleQueue, on_progress, results: list, wait: float) -> None:
    """Wait up to ``wait`` seconds for progress, then pass on everything that came."""
    deadline = time.monotonic() + wait
    while True:
        try:
            update = updates.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return
        if on_progress is not None and results[update["run"]] is None:  # else stale
            on_progress(update)


@contextlib.contextmanager
def connect(address: str, workers: int | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> Iterator[Cluster]:
    """A Cluster at ``address`` (``tcp://HOST:8786``, ``tls://...``), or ``local``: a
    LocalCluster of ``workers`` processes (default one per CPU), one thread each, on
    loopback, without a dashboard; closed at the end. Raises CliError, one line, when
    dask is missing or no scheduler with a worker answers within ``timeout`` seconds.
    Dask's own log lines are silenced meanwhile: its errors come out as ours."""
    try:
        import distributed
    except ImportError:
        raise CliError(INSTALL_HINT) from None
    with _quiet():
        cluster = _start_local(distributed, workers) if address == "local" else (
            _reach(distributed, address, timeout))
        try:
            yield cluster
        finally:
            cluster.close()


def _reach(distributed: Any, address: str, timeout: float) -> Cluster:
    try:  # before a Client: one built on a bad address hangs at exit, closing itself
        distributed.comm.get_address_host_port(address)
    except ValueError:
        raise CliError(f'--scheduler: "{address}" is not a Dask scheduler\'s address '
                       f"(tcp://HOST:8786, tls://HOST:8786, or local)") from None
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError):
        raise CliError(_unreachable(address, timeout)) from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError):
        client.close()
        raise CliError(f"--scheduler: the Dask scheduler at {address} has no worker after "
                       f"{timeout:g} s: start some with `dask worker {address} "
                       f"--nthreads 1`") from None
    return Cluster(client, address)


def _unreachable(address: str, timeout: float) -> str:
    return (f"--scheduler: no Dask scheduler answered at {address} within {timeout:g} s: "
            f"start one with `dask scheduler` and workers with "
            f"`dask worker {address} --nthreads 1`, or use --scheduler local")


def _start_local(distributed: Any, workers: int | None) -> Cluster:
    """A LocalCluster whose worker processes ignore Ctrl-C (it is the sweep's to handle,
    and their own handlers would each print a traceback)."""
    import os

    from engine.experiments.sweep import _sigint_ignored

    n = workers or os.cpu_count() or 1
    with _sigint_ignored():
        local = distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.ERROR,
            # no dashboard, but the scheduler's small HTTP server (health checks) would
            # still take port 8787, or warn when another cluster has it: any free port
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )
        client = distributed.Client(local, set_as_default=False)
    return Cluster(client, local.scheduler_address, local)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Dask's own log lines (retries, workers leaving at close) are not the sweep's
    output: its errors are reported as one line of ours."""
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
