"""Layer 1: the generated datasets, CSV files and input scaling. Imports nothing else of
the engine."""
