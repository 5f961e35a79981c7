"""Layer 3: the validated experiment config (``experiment.py``: its fields, the presets, TOML
files). Imports nn, optim and data, for the names of their choices."""
