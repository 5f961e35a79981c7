"""``nn-tui sweep --scheduler``: the sweep on a real Dask cluster (a scheduler and two
worker processes on loopback), against the same sweep in the local process pool."""

from __future__ import annotations

import socket
import sys
import time

import pytest

distributed = pytest.importorskip(
    "distributed", reason='the Dask cluster tests need dask: pip install -e ".[test]"'
)

from engine.experiments.sweep import load_sweep_csv  # noqa: E402
from tests.tui.test_cli_sweep import CLOSING  # noqa: E402
from tui.cli import main  # noqa: E402
from tui.cli.sweep_dask import PROGRESS_TOPIC, sweep_task  # noqa: E402

GRID = ["sweep", "--preset", "dlp-xor", "--lr", "0.25", "0.5", "1", "2", "--seed", "0", "1",
        "--epochs", "2000"]
SHORT = GRID[:8]  # the rates without the seeds and epochs
SAME = ("run", "config", "status", "epochs_run", "final_loss", "final_accuracy",
        "perfect_epoch", "curve_epochs", "curve_loss", "message")  # all but the times


@pytest.fixture(scope="module")
def cluster():
    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address=None,
                                     scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    client = distributed.Client(local, set_as_default=False)
    yield local, client
    client.close()
    local.close()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(path) -> list[dict]:
    return [{key: row[key] for key in SAME} for row in load_sweep_csv(path)]


def executing(client) -> int:
    """Tasks running on the workers now, cancelled or not (the scheduler forgets a
    cancelled task at once; its worker's thread runs on until the task returns)."""
    counts = client.run(lambda dask_worker: len(dask_worker.state.executing))
    return sum(counts.values())


def idle_within(client, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while executing(client):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# --- the same sweep, on the cluster -------------------------------------------------------------
def test_the_cluster_gives_the_pools_rows_bit_for_bit(capsys, cluster, tmp_path):
    local, _ = cluster
    code, out, err = run(capsys, *GRID, "--workers", "2", "--csv", str(tmp_path / "pool.csv"))
    assert code == 0, err
    code, out, err = run(capsys, *GRID, "--scheduler", local.scheduler_address,
                         "--csv", str(tmp_path / "dask.csv"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == ("sweep of 8 runs (lr x seed: 4 x 2) on xor, 2,000 epochs each, "
                        f"2 workers of the Dask cluster at {local.scheduler_address}")
    assert CLOSING.match(lines[-2]) and lines[-1].startswith("wrote 8 runs to ")
    assert err == ""  # nothing of Dask's own logging
    assert rows(tmp_path / "dask.csv") == rows(tmp_path / "pool.csv")


def test_no_stack_on_the_cluster_trains_each_run_alone(capsys, cluster, tmp_path):
    local, _ = cluster
    argv = [*SHORT, "--seed", "0", "--epochs", "500", "--no-stack"]
    assert run(capsys, *argv, "--csv", str(tmp_path / "pool.csv"))[0] == 0
    code, _, err = run(capsys, *argv, "--scheduler", local.scheduler_address,
                       "--csv", str(tmp_path / "dask.csv"))
    assert code == 0, err
    assert rows(tmp_path / "dask.csv") == rows(tmp_path / "pool.csv")


def test_progress_comes_back_for_the_live_table(capsys, cluster, monkeypatch):
    local, _ = cluster
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, out, err = run(capsys, "sweep", "--preset", "dlp-xor", "--lr", "0.5", "1",
                         "--epochs", "60000", "--workers", "1",
                         "--scheduler", local.scheduler_address)
    assert code == 0
    assert "running" in err and "finished" in err  # progress drawn, then the results
    assert CLOSING.match(out.splitlines()[-1])


def test_a_task_reports_its_stacks_progress_as_worker_events(cluster):
    local, client = cluster
    seen: list = []
    client.subscribe_topic(PROGRESS_TOPIC, seen.append)
    try:
        configs = _dicts([{"lr": lr, "epochs": 60_000} for lr in (0.5, 1.0)])
        future = client.submit(sweep_task, configs, [0, 1], "no-stop", "s1", pure=False)
        assert [r["status"] for r in future.result(timeout=30)] == ["finished", "finished"]
        time.sleep(0.2)
    finally:
        client.unsubscribe_topic(PROGRESS_TOPIC)
    updates = [u for _, message in seen if message["sweep"] == "s1" for u in message["updates"]]
    assert {u["run"] for u in updates} == {0, 1}
    assert set(updates[0]) == {"run", "epoch", "epochs", "loss", "accuracy", "seconds"}


def _dicts(changes: list[dict]) -> list[dict]:
    """dlp-xor's config with some changes, as the plain dicts a task gets."""
    from engine.config.experiment import preset

    return [preset("dlp-xor").replace(**change).to_dict() for change in changes]


# --- stopping -----------------------------------------------------------------------------------
LONG = 50_000_000  # epochs no test waits for: only a stop ends such a run in time


def test_ctrl_c_stops_the_workers_runs_and_keeps_the_finished_rows(capsys, cluster, monkeypatch,
                                                                  tmp_path):
    local, client = cluster
    from tui.cli import sweep_table

    def interrupted(self, result):  # ctrl-c as the short stack's second run comes back
        self.results[result["run"]] = result
        if sum(r is not None for r in self.results) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(sweep_table.SweepTable, "result", interrupted)
    start = time.monotonic()
    code, out, err = run(capsys, "sweep", "--preset", "dlp-xor", "--epochs", "2000", str(LONG),
                         "--seed", "0", "1", "--scheduler", local.scheduler_address,
                         "--csv", str(tmp_path / "runs.csv"))
    assert code == 130
    assert err.splitlines() == ["nn-tui: sweep interrupted after 2 of 4 runs",
                                f"wrote 2 runs to {tmp_path / 'runs.csv'}"]
    assert [(r["run"], r["status"]) for r in load_sweep_csv(tmp_path / "runs.csv")] == [
        (0, "finished"), (2, "finished")]
    assert idle_within(client, 10.0), "a worker still trains the stopped stack"
    assert time.monotonic() - start < 20


def test_the_stop_event_ends_a_running_stack_between_chunks(cluster):
    local, client = cluster
    configs = _dicts([{"epochs": LONG, "seed": s} for s in (0, 1)])
    future = client.submit(sweep_task, configs, [0, 1], "stop-test", None, pure=False)
    time.sleep(1.0)
    distributed.Event("stop-test", client=client).set()
    results = future.result(timeout=10)  # within a chunk or two, not the 50M epochs
    assert [r["status"] for r in results] == ["stopped", "stopped"]
    assert all(0 < r["epochs_run"] < LONG for r in results)
    distributed.Event("stop-test", client=client).clear()


def test_a_cancelled_task_stops_too(cluster):
    """The client went away (or cancelled): the results have nowhere to go."""
    local, client = cluster
    configs = _dicts([{"epochs": LONG}])
    future = client.submit(sweep_task, configs, [0], "never-set", None, pure=False)
    deadline = time.monotonic() + 10
    while not executing(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    client.cancel(future)
    assert idle_within(client, 10.0)


# --- a local cluster, and errors in one line ----------------------------------------------------
def test_scheduler_local_starts_and_closes_its_own_cluster(capsys, tmp_path):
    code, out, err = run(capsys, *SHORT, "--seed", "0", "--epochs", "1000",
                         "--scheduler", "local", "--workers", "2")
    assert code == 0, err
    assert out.splitlines()[0].endswith("2 workers of a local Dask cluster")
    assert CLOSING.match(out.splitlines()[-1])
    assert err == ""


def test_without_dask_scheduler_says_how_to_install_it(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    code, out, err = run(capsys, *GRID, "--scheduler", "tcp://127.0.0.1:8786")
    assert code == 2
    assert err == 'nn-tui: error: --scheduler needs dask: pip install "nn-tui[cluster]"\n'


def test_a_scheduler_nobody_runs_is_one_line_within_the_timeout(capsys):
    with socket.socket() as s:  # a port that was free a moment ago: nobody listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    start = time.monotonic()
    code, out, err = run(capsys, *GRID, "--scheduler", address, "--scheduler-timeout", "1")
    assert time.monotonic() - start < 5
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"nn-tui: error: --scheduler: no Dask scheduler answered at {address} "
                          "within 1 s: start one with `dask scheduler`")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--scheduler", "nowhere"], '--scheduler: "nowhere" is not a Dask scheduler'),
        (["--scheduler", "local", "--scheduler-timeout", "0"],
         '--scheduler-timeout: seconds must be a number in (0, 3600], got "0"'),
        (["--scheduler", "local", "--workers", "0"], "--workers: the number of worker"),
    ],
)
def test_bad_cluster_flags_are_one_line(capsys, argv, needle):
    code, _, err = run(capsys, *GRID, *argv)
    assert code == 2
    assert err.count("\n") == 1 and needle in err
