"""Write the run files the snapshot tests open: ``python -m tests.tui.core.runs.make_runs``.

A snapshot must show a state that is the same on every machine. Training is not: after
thousands of epochs another BLAS kernel, CPU or NumPy release prints other digits. So
the snapshots open these committed files (weights and history as this machine wrote
them, read back exactly everywhere) and show only what a forward pass gives from
them. Run this again only when the run-file format changes, then update the snapshots
and look at them.
"""

from __future__ import annotations

from pathlib import Path

from engine import Trainer, preset, save_run

HERE = Path(__file__).parent

RUNS = {
    # the course's XOR network after three log intervals (15,000 epochs)
    "dlp-xor-15000.npz": (preset("dlp-xor"), 15_000),
}


def main() -> None:
    for name, (config, epochs) in RUNS.items():
        trainer = Trainer(config)
        trainer.run(epochs)
        print("wrote", save_run(HERE / name, trainer))


if __name__ == "__main__":
    main()
