"""Layer 5: run files, exports, and the arithmetic (NumPy, BLAS, CPU) a run was saved with.
Imports the layers below."""
