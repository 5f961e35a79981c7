"""The layers' contracts, read from the source (in the manner of harlequin's tests).

- ``engine/`` imports only NumPy, the standard library and itself, and its packages
  point one way: each imports only from the packages before it in ``ENGINE_LAYERS``.
- The shared core (``CORE``: no UI at all) imports no Textual, Rich or plotext.
- The headless CLI (``CLI``) imports no Textual except the app it starts (``tui.app``).
- The web server (``SERVE``, ``tui/serve``) imports no Textual (textual-serve is no
  Textual) and, of nn-tui, only the core: it runs the app as a subprocess.
- No module-level import cycle anywhere. (An import inside a function is how a module
  loads something only when needed; it still counts for the layers above.)

Each rule fails on a forbidden import; ``test_the_rules_have_teeth`` shows it does.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE_LAYERS = ("nn", "optim", "data", "fast", "config", "train", "io", "explain", "stack",
                 "experiments")
"""The engine's packages, lowest first: each may import only from those before it."""
FRONT_END = {"textual", "rich", "plotext"}
CORE_PACKAGE = "tui.core"  # the training session, event texts, archive, settings: no UI
CLI_PACKAGE = "tui.cli"  # the headless subcommands
CLI_MAY_START = {"tui.app"}  # the CLI imports the app only to run it
SERVE_PACKAGE = "tui.serve"  # nn-tui serve's web server: starts the app as a subprocess


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, top_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in a file, those inside functions too
    unless ``top_level_only``; ``from X import y`` gives ``X.y`` when y is a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                is_module = (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists()
                found.append((node.lineno, candidate if is_module else node.module))
        elif isinstance(node, ast.If) and top_level_only:  # if TYPE_CHECKING: not a cycle
            continue
    return found


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


ENGINE_FILES = python_files("engine")


def engine_layer(module: str) -> int | None:
    """The index of an engine module's package in ENGINE_LAYERS (None: engine/__init__)."""
    parts = module.split(".")
    return ENGINE_LAYERS.index(parts[1]) if len(parts) > 1 else None


def engine_violations(path: Path) -> list[str]:
    """Imports of an engine file that break the engine's rules."""
    allowed = set(sys.stdlib_module_names) | {"numpy", "engine"}
    own = engine_layer(module_name(path))
    bad = []
    for line, name in imports(path):
        root = name.split(".")[0]
        if root not in allowed:
            bad.append(f"line {line}: {name} (the engine is NumPy and the standard library)")
        elif root == "engine" and own is not None and name != "engine":
            layer = engine_layer(name)
            if layer is not None and layer > own:
                bad.append(f"line {line}: {name} (a higher layer than {ENGINE_LAYERS[own]})")
    return bad


def test_the_engine_files_are_found() -> None:
    modules = {module_name(p) for p in ENGINE_FILES}
    for expected in ("engine", "engine.nn.network", "engine.nn.reference",
                     "engine.fast.workspace", "engine.train.trainer", "engine.io.runfile"):
        assert expected in modules
    packages = {p.parent.name for p in ENGINE_FILES if p.parent != ROOT / "engine"}
    assert packages == set(ENGINE_LAYERS)


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: module_name(p))
def test_engine_imports_point_down(path: Path) -> None:
    assert engine_violations(path) == []


CORE = python_files("tui/core")
CLI = python_files("tui/cli")


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


@pytest.mark.parametrize("path", CORE, ids=lambda p: module_name(p))
def test_the_core_imports_no_ui_library(path: Path) -> None:
    bad = [(line, name) for line, name in imports(path)
           if name.split(".")[0] in FRONT_END
           or (_inside(name, "tui") and not _inside(name, CORE_PACKAGE) and name != "tui")]
    assert bad == [], f"{module_name(path)} imports {bad}"


@pytest.mark.parametrize("path", CLI, ids=lambda p: module_name(p))
def test_the_cli_imports_no_textual_but_the_app_it_starts(path: Path) -> None:
    bad = [(line, name) for line, name in imports(path)
           if name.split(".")[0] in {"textual", "plotext"}
           or (_inside(name, "tui") and name not in CLI_MAY_START and name != "tui"
               and not _inside(name, CORE_PACKAGE) and not _inside(name, CLI_PACKAGE)
               and not _inside(name, SERVE_PACKAGE))]
    assert bad == [], f"{module_name(path)} imports {bad}"


SERVE = python_files("tui/serve")


@pytest.mark.parametrize("path", SERVE, ids=lambda p: module_name(p))
def test_the_server_imports_no_textual_and_no_app(path: Path) -> None:
    bad = [(line, name) for line, name in imports(path)
           if name.split(".")[0] in FRONT_END - {"rich"}
           or (_inside(name, "tui") and name != "tui"
               and not _inside(name, CORE_PACKAGE) and not _inside(name, SERVE_PACKAGE))]
    assert SERVE and bad == [], f"{module_name(path)} imports {bad}"


def module_graph() -> dict[str, set[str]]:
    """Module-level imports between the project's own modules."""
    files = python_files("engine", "tui")
    known = {module_name(p) for p in files}
    graph = {}
    for path in files:
        edges = set()
        for _, name in imports(path, top_level_only=True):
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module_name(path):
                edges.add(name)
        graph[module_name(path)] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (a list of modules, first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(f"{node}.") or node.startswith(f"{nxt}."):
                continue  # a package and its own modules (engine and engine.nn.network)
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_module_level_import_cycle() -> None:
    assert find_cycle(module_graph()) is None


def test_importing_a_light_part_of_the_engine_stays_light() -> None:
    """``import engine.config.experiment`` loads no trainer, workspace or run file."""
    import subprocess

    code = ("import sys, engine.config.experiment; print(sorted(m for m in sys.modules "
            "if m.startswith('engine.')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    loaded = set(eval(done.stdout))  # noqa: S307 (our own printout)
    assert not loaded & {"engine.train.trainer", "engine.fast.workspace", "engine.io.runfile"}


def test_the_rules_have_teeth(tmp_path, monkeypatch) -> None:
    """A forbidden import in each place is caught: the engine importing the trainer from
    the network, the engine importing Textual, the core importing Rich, a cycle."""
    network = (ROOT / "engine/nn/network.py").read_text(encoding="utf-8")
    fake = tmp_path / "engine" / "nn" / "network.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(network + "\nfrom engine.train.trainer import Trainer\nimport textual\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert [v.split(" (")[0] for v in engine_violations(fake)] == [
        f"line {network.count(chr(10)) + 2}: engine.train.trainer",
        f"line {network.count(chr(10)) + 3}: textual",
    ]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    core = tmp_path / "tui" / "core" / "training.py"
    core.parent.mkdir(parents=True)
    core.write_text("def f():\n    from rich.text import Text\n")
    assert [name for _, name in imports(core)] == ["rich.text"]
