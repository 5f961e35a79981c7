"""Layer 1: update rules (sgd, momentum, adam) and learning-rate schedules (the course's
halving, plateau). Imports nothing else of the engine."""
