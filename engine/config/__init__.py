"""Layer 3: the validated experiment config (``experiment.py``: its fields' parsers, the
presets, TOML files; imports nn, optim and data, for the names of their choices) and
``fields.py``: what each setting is, for the editor and the command line (standard
library only, so ``nn-tui --help`` imports no NumPy)."""
