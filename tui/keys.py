"""The one home of the main screen's keys and their help.

Each binding's ``description`` is the footer's short word; ``tooltip`` the title in the
command palette, on the help screen and in the README's key table; ``detail`` the line
of explanation beside it in all three (tests/tui/test_keys_doc.py holds the README to
them). ``NNApp.BINDINGS`` is ``KEYS``.
"""

from __future__ import annotations

import dataclasses

from textual.binding import Binding, BindingType

_PANELS = Binding.Group("Panel", compact=True)
_RATE = Binding.Group("Rate", compact=True)
_SPEED = Binding.Group("Speed", compact=True)


@dataclasses.dataclass(frozen=True)
class HelpBinding(Binding):
    """A binding with its line of help, so that a key and its help are written once.

    ``detail`` explains the binding in a sentence: on the help screen and in the command
    palette beside the ``tooltip``, and in the README's key table (generated from the
    help screen's rows, ``python -m tui.screens.help``).
    """

    detail: str = ""


KEYS: list[BindingType] = [
    HelpBinding("space", "toggle_run", "Run", id="run-pause", key_display="space",
                tooltip="Run or pause training",
                detail="Train in the background; every key keeps working meanwhile."),
    HelpBinding("s", "step", "Step", id="step-epoch", tooltip="Step one epoch",
                detail="Train exactly one epoch (pauses a running training first)."),
    HelpBinding("n", "step_interval", "Step log", id="step-log",
                tooltip="Step one log interval",
                detail="Train one log interval (log every) epochs."),
    HelpBinding("r", "reset", "Reset", id="reset", tooltip="Reset the weights",
                detail="Fresh weights, epoch 0, at the config's rate or one set by [ ]."),
    HelpBinding("d", "new_data_seed", "Seed", id="new-data", tooltip="New data seed",
                detail="Draw the dataset again with the next data seed, and reset."),
    HelpBinding("a,ctrl+s", "apply", "Apply", id="apply",
                tooltip="Apply the editor's config",
                detail="Use the editor's config (refused while a field is invalid)."),
    HelpBinding("question_mark", "help", "Help", id="help", key_display="?",
                tooltip="Help: every key",
                detail="Every key and what it does (this screen)."),
    HelpBinding("c", "cycle_dataset", "Data", id="cycle-dataset", tooltip="Next dataset",
                detail="Switch to the next generated dataset, and reset."),
    HelpBinding("b", "toggle_boundary", "Map", id="boundary", show=False,
                tooltip="Scatter pair / decision boundary",
                detail="Panel 3: the scatter pair, or p(class 1) shaded over the plane."),
    HelpBinding("i", "inspect", "Inspect", id="inspect", show=False,
                tooltip="Inspect weights, units and norms",
                detail="Weights as a heatmap, one hidden unit over the plane, norms."),
    HelpBinding("x", "explain", "Explain", id="explain", show=False,
                tooltip="Explain one step of backprop",
                detail="One training step, matrix by matrix, in the course's notation."),
    HelpBinding("R", "runs", "Runs", id="runs", key_display="R", show=False,
                tooltip="Compare runs, overlay their losses",
                detail="Kept runs in a sortable table; overlay their loss curves."),
    HelpBinding("v", "race", "Race", id="race", show=False,
                tooltip="Race variants of one setting",
                detail="Rates, seeds, activations, sizes or optimizers, trained as stacks."),
    HelpBinding("g", "gradcheck", "Grad check", id="gradcheck", show=False,
                tooltip="Gradient check, layer by layer",
                detail="Backprop against finite differences, per layer, on a copy."),
    HelpBinding("w", "save_run", "Save", id="save-run", show=False,
                tooltip="Save the run to a file",
                detail="Config, weights and history to a .npz run file."),
    HelpBinding("ctrl+o", "open_run", "Open", id="open-run", show=False,
                tooltip="Open a saved run",
                detail="Reopen a run file: same weights, same predictions."),
    HelpBinding("e", "export", "Export", id="export", show=False,
                tooltip="Export CSV, TOML, SVG or PNG",
                detail="History, predictions (CSV), config (TOML), screen (SVG), figures (PNG), "
                       "the run as a NumPy script (.py)."),
    HelpBinding("L", "load_data", "Load CSV", id="load-data", key_display="L", show=False,
                tooltip="Load a CSV dataset (x1,x2,label)",
                detail="Train on your own x1,x2,label CSV file (tab completes paths)."),
    HelpBinding("plus", "noise(1)", "Noise +", id="noise-up", key_display="+", show=False,
                tooltip="More noise (+0.05)",
                detail="Draw the data again with 0.05 more noise, and reset."),
    HelpBinding("minus", "noise(-1)", "Noise -", id="noise-down", key_display="-",
                show=False, tooltip="Less noise (-0.05)",
                detail="Draw the data again with 0.05 less noise, and reset."),
    HelpBinding("greater_than_sign", "test_split(1)", "Split +", id="split-up",
                key_display=">", show=False, tooltip="Larger test split (+0.1)",
                detail="Hold out 0.1 more of the data for testing, and reset."),
    HelpBinding("less_than_sign", "test_split(-1)", "Split -", id="split-down",
                key_display="<", show=False, tooltip="Smaller test split (-0.1)",
                detail="Hold out 0.1 less (0: no test set), and reset."),
    HelpBinding("right_square_bracket", "scale_lr(2)", "Rate ×2", id="lr-double",
                key_display="]", group=_RATE, tooltip="Double the learning rate",
                detail="Double the learning rate now, even while training."),
    HelpBinding("left_square_bracket", "scale_lr(0.5)", "Rate ÷2", id="lr-halve",
                key_display="[", group=_RATE, tooltip="Halve the learning rate",
                detail="Halve it now; after a divergence, then r starts afresh at it."),
    HelpBinding("right_curly_bracket", "change_speed(1)", "Faster", id="speed-up",
                key_display="}", group=_SPEED, show=False,
                tooltip="Faster: the next speed cap",
                detail="10, 100, 1k, 10k epochs per second, then unlimited (the default)."),
    HelpBinding("left_curly_bracket", "change_speed(-1)", "Slower", id="speed-down",
                key_display="{", group=_SPEED, show=False,
                tooltip="Slower: the previous speed cap",
                detail="Cap the training speed to watch it (down to 1 epoch per second)."),
    HelpBinding("1", "show_panel('editor')", "Editor", id="panel-editor", group=_PANELS,
                tooltip="Panel 1: architecture editor",
                detail="Show the editor and type in it; enter or tab moves on."),
    HelpBinding("2", "show_panel('loss')", "Loss", id="panel-loss", group=_PANELS,
                tooltip="Panel 2: loss chart",
                detail="Show the loss chart: log scale, rate changes dotted."),
    HelpBinding("3", "show_panel('scatter')", "Predictions", id="panel-scatter",
                group=_PANELS, tooltip="Panel 3: predictions",
                detail="Show the predictions: truth beside prediction, or the map (b)."),
    HelpBinding("4", "show_panel('log')", "Log", id="panel-log", group=_PANELS,
                tooltip="Panel 4: epoch log",
                detail="Show the epoch log; arrows and page keys scroll it."),
    HelpBinding("t", "change_theme", "Theme", id="theme", tooltip="Change the theme",
                detail="Pick a colour theme; nn-tui remembers it."),
    HelpBinding("q", "quit", "Quit", id="quit", tooltip="Quit nn-tui",
                detail="Leave nn-tui."),
    HelpBinding("escape", "leave_field", "Leave field", id="leave-field",
                tooltip="Leave the text field",
                detail="Leave a text field, so that single keys act again."),
]

__all__ = ["KEYS", "HelpBinding"]
