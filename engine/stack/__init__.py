"""Many networks trained as one: a stack of K networks in one set of NumPy calls per epoch
(``trainer.StackTrainer``; the buffers and passes in ``workspace.py``, the update rules
in ``optim.py``)."""
