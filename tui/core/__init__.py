"""The shared core of both front ends, with no UI in it: the training session and the
text of its events, the run archive and its records, the settings. Imports the engine and
the standard library only (no Textual, Rich or plotext; tests/test_contracts.py)."""
