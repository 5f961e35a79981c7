"""The descriptions and examples ``--help`` prints above and below each command's flags."""

TOP_DESCRIPTION = """\
A keyboard-driven terminal trainer for small neural networks, written from
scratch in NumPy. Without a command it opens the app."""

TOP_EPILOG = """\
examples:
  nn-tui                                 open the app
  nn-tui --preset dlp-linear             open the app on the course's linear set
  nn-tui train --preset dlp-xor          the course's XOR homework, headless
  nn-tui train --hidden 8,8 --lr 0.1     change any hyperparameter with a flag
  nn-tui train --json > run.jsonl        JSON lines for scripts
  nn-tui train --from run.npz            reproduce a saved run, bit for bit
  nn-tui sweep --lr 0.1 1 --hidden 4 8   a grid of runs, trained in parallel
  nn-tui serve                           the app in a web browser
  nn-tui runs                            the runs the app kept, newest first
  nn-tui --open latest                   reopen the newest kept run in the app
  nn-tui train --help                    every flag, with its default"""

TRAIN_DESCRIPTION = """\
Train one network without the app and print the course's log: the loss and
accuracy every --log-every epochs, each learning-rate change, then every
prediction beside its ground truth, and the final loss and accuracy.

Defaults are the course's XOR homework. Values are applied in this order, each
overriding the one before: defaults, --preset, --config, the other flags."""

TRAIN_EPILOG = """\
exit status: 0 when training ran (a run that diverges stops early and still
exits 0), 2 on a bad flag, file or config, 130 when interrupted.

examples:
  nn-tui train --preset dlp-linear
  nn-tui train --dataset moons --hidden 8,8 --activation tanh,tanh,sigmoid \\
               --bias --loss bce --optimizer adam --lr 0.02 --epochs 5000
  nn-tui train --data points.csv --test-split 0.2 --save run.npz
  nn-tui train --from run.npz --export-history history.csv
  nn-tui train --preset dlp-xor --export-config xor.toml && nn-tui train --config xor.toml
  nn-tui train --json | jq -c 'select(.event == "lr_halved")'"""

TRAIN_FROM_HELP = (
    "re-run a saved run from scratch: its config, for as many epochs as it had completed, "
    "replaying the learning-rate changes made by hand, and say whether the loss history "
    "comes out identical. Other flags change the config (then it is no longer a "
    "reproduction)"
)

EXPLAIN_DESCRIPTION = """\
Walk through one training step, matrix by matrix, in the course's notation:
the batch (raw and scaled), Z = A W + b and A = f(Z) for every layer, the loss,
dE/dA and delta, dE/dW and dE/db layer by layer back, the optimizer's update
and the new weights, each with its equation, shape and values (large matrices
abridged: first and last rows and columns). Train --epoch N epochs first; with
mini-batches the step is --batch K of the next epoch, in the trainer's order.

The new weights are the trainer's own, exactly; the other stages are the plain
formulas of engine/nn/reference.py on the trainer's numbers. Takes every flag
train takes."""

EXPLAIN_EPILOG = """\
exit status: 0 when the step was explained, 1 when training diverged before it,
2 on a bad flag, file or config.

examples:
  nn-tui explain --preset dlp-xor
  nn-tui explain --preset dlp-xor --epoch 5000 --json > step.jsonl
  nn-tui explain --preset moons-adam --batch-size 16 --batch 2 --full"""

SWEEP_DESCRIPTION = """\
Train every combination of some settings, several runs at once in worker
processes, and compare them in a table: the varied settings, status, epochs,
final loss and accuracy, the first epoch at 100% accuracy and each run's time.

Every setting flag takes one or more values separated by spaces, and the grid
is their product: --lr 0.1 0.5 1 --hidden 4,4 8,8 is 3 x 2 = 6 runs. A setting
whose one value is a single number or name also takes a comma list (--lr
0.1,0.5,1). --hidden, --activation, --halve-band and --data take commas inside one
value, so their alternatives are separated by spaces only: --activation sigmoid
linear is two runs, --activation tanh,tanh,sigmoid is one (a per-layer list).

The base config is built as for train: defaults, --preset, --config, then the
flags. While the sweep runs, a live table is shown on stderr when it is a
terminal; the final table goes to stdout, then the run with the lowest loss and
a line setting the wall time beside the processor time of all the runs: their
ratio is the speed-up over training them one after the other.

With --scheduler the stacks run as tasks of a Dask cluster instead (pip install
"nn-tui[cluster]"; every worker needs nn-tui installed): the same table and CSV,
and ctrl-c stops the tasks where they are. Anyone who can reach the scheduler can
run code on its workers: keep it on a trusted network, or use tls:// (README)."""

SWEEP_EPILOG = """\
exit status: 0 when every run trained (diverging counts), 1 when a run failed
(its row says why), 2 on a bad flag, file or config, 130 when interrupted (the
runs finished so far are still written to --csv).

examples:
  nn-tui sweep --lr 0.1 0.5 1 --hidden 4,4 8,8 --epochs 20000
  nn-tui sweep --preset moons-adam --seed 0,1,2,3 --optimizer sgd adam --csv runs.csv
  nn-tui sweep --activation sigmoid linear --dataset xor linear --workers 2
  nn-tui sweep --preset dlp-xor --lr 0.1,0.5,1,2 --seed 0,1 --scheduler local
  nn-tui sweep --preset dlp-xor --seed 0,1,2,3 --scheduler tcp://10.0.0.5:8786"""

SERVE_DESCRIPTION = """\
Serve the app to web browsers with textual-serve: each browser tab that opens
the address runs its own nn-tui on this machine (the command is this Python
running tui.cli, whatever the PATH says). It listens on the loopback address by
default, so only this machine can connect. To use it from another machine,
forward the port over SSH rather than listening on the network:
  ssh -L 8000:127.0.0.1:8000 THIS-MACHINE    then open the printed address

The printed address carries a token (http://127.0.0.1:8000/?token=...), drawn
afresh for each server, or taken from the environment variable NN_TUI_TOKEN
(at least 8 letters, digits or -_.~). Every page and socket must bring it (the
first page sets a cookie, so reloads work); a page of another site, or another
host name than the server's, is refused. A served app's file prompts (save,
open, export, load) see only the --root folder (by default a new folder in the
temp dir, printed at start and kept when the server stops); its runs are kept in
nn-tui-runs/ there, never in your own archive, and its theme choice goes to a
private copy of your settings. Terminals are capped at 400x200; past
--max-sessions tabs (8) one more is refused; each app process ends with its tab."""

SERVE_EPILOG = """\
Listening on another address (--host 0.0.0.0) makes the app reachable by anyone
who can reach the port and has the token: nn-tui prints a warning, and the
address it prints is this machine's address on its network (--public-url sets
another, behind a proxy say). Stop the server with Ctrl+C.

examples:
  nn-tui serve                          http://127.0.0.1:8000/?token=...
  nn-tui serve --root ~/class --max-sessions 30 --preset dlp-linear
  NN_TUI_TOKEN=backprop-2026 nn-tui serve --host 0.0.0.0 --port 8080"""

RUNS_DESCRIPTION = """\
List the runs the app kept: every run that finished, diverged, was stopped by
reset, apply or new data, or was still open when the app quit is written to the
run archive as a run file (the format w saves), newest first. The archive keeps
at most 200 runs and 256 MiB; the oldest are deleted first. Autosave is on unless
settings.toml says autosave = false or the app was started with --no-autosave."""

RUNS_EPILOG = """\
examples:
  nn-tui runs                           the newest 20 runs
  nn-tui runs --limit 0                 every kept run
  nn-tui --open latest                  reopen the newest in the app
  nn-tui --open 2026-11-27T10-31-05_xor_2-4-4-1.npz
  nn-tui train --from latest            reproduce the newest, headless"""

GRADCHECK_DESCRIPTION = """\
Compare backpropagation's gradients with finite differences, layer by layer, for
the network and loss the flags describe, on at most 20 points of its training
data, always in float64: the app's g, with its verdict and words. The weights are
the initial ones, or with --at-epoch those after training; biases that are all
zero are drawn small and random first, so that no relu unit sits exactly on its
kink (where the two methods rightly disagree). Each parameter costs four forward
passes, so networks of more than 20,000 parameters are refused.

A gradient entry passes when its relative error |bp - fd| / max(|bp|, |fd|, F) is
below 1e-06; F, the floor, is what finite differences resolve at this loss (their
rounding error divided by 1e-06). A layer whose gradients are all below F is
inconclusive (too small to compare) rather than failed, as on a network trained
to a tiny loss; it still fails if they disagree by more than that error."""

GRADCHECK_EPILOG = """\
Train's other flags (--lr, --epochs, the schedule, ...) are accepted, so the same
command line can be reused; they change the check only through --at-epoch.

exit status: 0 when the check passed; 1 when it FAILED (a relative error of
1e-06 or more); 2 on a bad flag, file or config; 3 when it was inconclusive
(no gradient big enough to compare: dead units, or a network trained to a tiny
loss), which says nothing against backprop.

examples:
  nn-tui gradcheck --hidden 8,8 --activation tanh,relu,sigmoid --bias --loss bce
  nn-tui gradcheck --activation relu,relu,sigmoid --bias --optimizer adam \
      --lr 0.01 --at-epoch 40000          (a network trained to a loss of 1e-11)"""
