"""Layer 2: the trainer's prebuilt in-place forward and backward passes (tapes of NumPy
calls on preallocated buffers), tested equal to ``engine.nn.reference``. Imports nn."""
