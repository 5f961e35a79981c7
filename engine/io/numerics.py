"""What decides the last bits of a run: NumPy's version, its BLAS and the CPU's SIMD.

Training is deterministic on one machine: the same config gives the same weights, bit
for bit. Across machines it is not. A matrix product from another BLAS kernel
(OpenBLAS picks one per CPU: Haswell, SkylakeX, ...), ``tanh``/``exp`` from another
SIMD level, another NumPy release: each rounds some results differently in the last
bit, and thousands of epochs amplify that into other printed digits. So a run file
records this fingerprint, and a replay that differs can say whether it ran on the same
arithmetic (a real difference) or on another (rounding, expected).

    fingerprint()          -> {"numpy": "2.4.6", "blas": "scipy-openblas 0.3.31", ...}
    describe(fingerprint()) -> "NumPy 2.4.6, scipy-openblas 0.3.31 (SkylakeX), x86_64 AVX512_ICL"
"""

from __future__ import annotations

import ctypes
import functools
import platform

import numpy as np

KEYS = ("numpy", "blas", "blas_core", "machine", "simd")
"""The fingerprint's fields; a run file may lack some (saved before they were kept)."""

_CORENAME_SYMBOLS = (
    "scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
    "openblas_get_corename64_", "openblas_get_corename",
)


@functools.cache
def fingerprint() -> dict[str, str]:
    """This process's arithmetic: NumPy, BLAS (and the kernel it chose), CPU and SIMD."""
    return {
        "numpy": np.__version__,
        "blas": _blas(),
        "blas_core": _blas_core(),
        "machine": platform.machine(),
        "simd": _simd(),
    }


def describe(fp: dict[str, str]) -> str:
    """One line for people: ``NumPy 2.4.6, scipy-openblas 0.3.31 (SkylakeX), x86_64 AVX2``."""
    if not fp:
        return "an unrecorded NumPy, BLAS and CPU"
    blas = fp.get("blas") or "an unknown BLAS"
    if fp.get("blas_core"):
        blas += f" ({fp['blas_core']})"
    cpu = " ".join(v for v in (fp.get("machine"), fp.get("simd")) if v) or "an unknown CPU"
    return f"NumPy {fp.get('numpy') or '?'}, {blas}, {cpu}"


def differences(saved: dict[str, str], here: dict[str, str]) -> list[str]:
    """The fields recorded on both sides that differ (empty: the same arithmetic, as far
    as the record tells)."""
    return [k for k in KEYS if saved.get(k) and here.get(k) and saved[k] != here[k]]


def _blas() -> str:
    try:
        info = np.__config__.CONFIG["Build Dependencies"]["blas"]
        return f"{info['name']} {'.'.join(str(info['version']).split('.')[:3])}"
    except Exception:  # noqa: BLE001 (a NumPy build that describes itself otherwise)
        return ""


def _blas_core() -> str:
    """The kernel a DYNAMIC_ARCH OpenBLAS picked for this CPU (``OPENBLAS_CORETYPE``
    overrides it), or "" where that cannot be asked."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            libraries = {line.split()[-1] for line in maps if "openblas" in line}
    except OSError:
        return ""
    for path in sorted(libraries):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in _CORENAME_SYMBOLS:
            function = getattr(library, symbol, None)
            if function is not None:
                function.restype = ctypes.c_char_p
                return (function() or b"").decode("ascii", "replace").strip()
    return ""


def _simd() -> str:
    """The highest SIMD target NumPy dispatches to here (``NPY_ENABLE_CPU_FEATURES`` and
    ``NPY_DISABLE_CPU_FEATURES`` lower it)."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    features = getattr(umath, "__cpu_features__", {})
    targets = getattr(umath, "__cpu_dispatch__", [])
    enabled = [t for t in targets if features.get(t)]
    return enabled[-1] if enabled else ",".join(getattr(umath, "__cpu_baseline__", []))
