"""The backprop explainer: one training step of a Trainer, stage by stage.

``explain(trainer)`` walks through the trainer's NEXT step at its current epoch, in the
course's notation and with the trainer's own batch, weights, rate and optimizer state:

    X_raw, X                       the batch, raw and scaled (A_0 = X)
    Z_l, A_l                       Z_l = A_{l-1} W_l + b_l,  A_l = f(Z_l)        l = 1 .. L
    E, dE/dA_L, delta_L            the loss and the output layer's delta
    dE/dW_l, dE/db_l,              dE/dW_l = A_{l-1}^T delta_l,  dE/db_l = sum of delta_l
    dE/dA_{l-1}, delta_{l-1}       delta_{l-1} = (delta_l W_l^T) * f'(Z_{l-1})   l = L .. 1
    the update                     SGD: ΔW = -lr dE/dW; momentum: v(W) = mu v(W) - lr dE/dW;
                                   Adam: m(W), v(W), m_hat(W), v_hat(W), ΔW
    new W_l, new b_l               W + ΔW (momentum: W + v(W))

Each ``Stage`` has its index, layer, name, equation, shape text (``21x2 @ 2x4 -> 21x4``),
2-D ``values`` and the ``operands`` it reads (earlier stages or ``Walk.inputs``, for a UI
to highlight). ``drill(walk, stage, (i, j))`` tells how one element was computed (the
row, the column, the terms and their sum for a product; the inputs and the formula
with numbers for an elementwise step) as data, and ``drill_text`` as text.

**Sign convention.** ``delta_l = dE/dZ_l`` (the engine's, and ``engine/nn/reference.py``'s):
``delta_L = (A_L - y) * A_L (1 - A_L)`` for sse and a sigmoid output, and every step goes
down the gradient, ``W <- W - lr dE/dW``. The course writes ``delta = (y - a) * a(1 - a)``
(the negative) with ``W += lr * a^T delta``: the same step. The walk says so (``Walk.notes``).

**Whose numbers.** Every stage up to the update is computed with the reference math
(plain NumPy in the network's dtype, the same expressions as ``engine/nn/reference.py``)
on the trainer's batch and weights. The trainer's fast path (``engine/fast/workspace.py``)
folds ``-lr`` and a factor 2 into its deltas and rounds differently in the last bits, so
the new weights are not recomputed: they are taken from the trainer's own step, run on
a twin (``engine/explain/twin.py``: an independent trainer in the same state; the real
one is never touched). So the ``new W_l`` stages equal exactly what the trainer holds
after that step, and ``Walk.agreement`` says how far the reference update lands from
them (about 1e-16 relative in float64, 1e-7 in float32; the tests hold float64 to 1e-12).

**Batches.** With a full batch the step is the whole next epoch (the training set in its
stored order). With mini-batches the trainer shuffles each epoch with its own generator:
the walk shows batch ``batch`` (default 0, the first) of the next epoch, in that order,
from the weights the batches before it leave (taken with the trainer's own calls on the
twin); its new weights are the trainer's after that batch, which are the trainer's after
the epoch when it is the last batch (``Walk.exact``).

``apply_step(trainer)`` then advances the real run by exactly one epoch through its normal
path (``Trainer.step``), with its history, events and schedule as always.
"""

from __future__ import annotations

from engine.explain.drill import Drill, drill, drill_text
from engine.explain.text import matrix_text, stage_text
from engine.explain.twin import batch_rows, twin
from engine.explain.walk import Product, Stage, Walk, apply_step, explain

__all__ = ["Drill", "Product", "Stage", "Walk", "apply_step", "batch_rows", "drill",
           "drill_text", "explain", "matrix_text", "stage_text", "twin"]
