"""Layer 1: the network itself. activations, losses, the network, and reference.py
(backprop as the course writes it, in plain NumPy). Imports nothing else of the engine."""
