"""Layer 6: many runs (sweeps) and replaying a saved run. Imports the layers below."""
