"""Layer 4: the trainer and what it needs and reports: the data built from a config, the
history, events, norm probes, and the gradient check. Imports the layers below."""
