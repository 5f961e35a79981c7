"""The engine is NumPy and the standard library only, and never unpickles anything."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
ENGINE_FILES = sorted(ENGINE.rglob("*.py"))
FRONT_END = ("textual", "rich", "plotext")
ALLOWED_THIRD_PARTY = {"numpy", "engine"}
PICKLERS = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def _imported_roots(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import in a module."""
    roots = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.append((node.lineno, node.module.split(".")[0]))
    return roots


def test_import_engine_pulls_in_no_front_end_library() -> None:
    code = (
        "import json, sys; import engine; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FRONT_END!r} "
        "or m.split('.')[0] == 'tui')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_every_import_is_numpy_the_standard_library_or_the_engine(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY
    bad = [(line, root) for line, root in _imported_roots(tree) if root not in allowed]
    assert bad == [], f"{path.name} imports {bad}"
    picklers = [(line, root) for line, root in _imported_roots(tree) if root in PICKLERS]
    assert picklers == [], f"{path.name} imports a deserialiser of Python objects: {picklers}"


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_no_dynamic_imports(path: Path) -> None:
    if path == ENGINE / "__init__.py":  # the lazy loader (PEP 562): its own fixed table
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            assert name not in ("__import__", "import_module"), f"{path.name}:{node.lineno}"


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_pickle_is_only_ever_mentioned_to_refuse_it(path: Path) -> None:
    """The only allowed spelling of "pickle" in the engine is ``allow_pickle=False``."""
    text = path.read_text(encoding="utf-8")
    for match in re.finditer("pickle", text, flags=re.IGNORECASE):
        context = text[max(match.start() - 6, 0) : match.end() + 6]
        assert context.endswith("pickle=False") and context.startswith("allow_"), (
            f"{path.name} mentions pickle: ...{context}..."
        )


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(ENGINE)))
def test_every_numpy_load_refuses_pickles(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "load"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("np", "numpy")
        ):
            kw = {k.arg: k.value for k in node.keywords}
            assert "allow_pickle" in kw, f"{path.name}:{node.lineno} np.load without allow_pickle"
            value = kw["allow_pickle"]
            assert isinstance(value, ast.Constant) and value.value is False


def test_the_lazy_loader_loads_only_its_own_engine_modules() -> None:
    """``engine.__getattr__`` imports modules by name, but only those of its fixed table,
    every one an engine module, and every name it promises is there."""
    import engine

    modules = set(engine._WHERE.values()) | set(engine._MODULES.values())
    assert all(m.startswith("engine.") and (ROOT / (m.replace(".", "/") + ".py")).exists()
               for m in modules)
    for name in engine.__all__:
        assert getattr(engine, name) is not None
    with pytest.raises(AttributeError):
        engine.os  # noqa: B018
