"""A served app's files stay in its folder (``tui.core.confine``, ``NN_TUI_ROOT``).

``nn-tui serve`` sets ``NN_TUI_ROOT`` for every app it starts: the path prompts then list,
read and write nothing outside that folder, whether the path is typed with ``../``, as
an absolute path, with ``~``, or through a symlink that points out; and the app's run
archive lives inside it, so a browser's runs never prune the user's own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import preset
from tests.tui.pilot import wait_for
from tui.app import NNApp
from tui.core import archive
from tui.core.confine import ROOT_ENV, OutsideRootError, confine, served_root
from tui.screens.prompts import PathPrompt, complete_path, matching_entries, resolve_path

SECRET = "x1,x2,label\n0.5,0.5,secret-cell\n"


@pytest.fixture
def served(sandbox, monkeypatch) -> Path:
    """A served app's world: the folder ``root`` (the working folder, as the server sets
    it), a secret file and folder beside it, and symlinks inside it that point out."""
    root = sandbox / "root"
    root.mkdir()
    (sandbox / "secret.csv").write_text(SECRET)
    (sandbox / "private").mkdir()
    (sandbox / "private" / "notes.txt").write_text("private\n")
    (root / "mine.csv").write_text("x1,x2,label\n0,0,0\n1,1,1\n")
    (root / "sub").mkdir()
    (root / "out.csv").symlink_to(sandbox / "secret.csv")
    (root / "away").symlink_to(sandbox / "private")
    (root / "inner.csv").symlink_to(root / "mine.csv")
    monkeypatch.setenv(ROOT_ENV, str(root))
    monkeypatch.chdir(root)
    return root


def test_the_rule(served):
    root = served_root()
    assert root == served.resolve()
    assert confine(Path("mine.csv")) == root / "mine.csv"
    assert confine(Path("sub/new.npz")) == root / "sub/new.npz"  # a new file: fine
    assert confine(root / "inner.csv") == root / "inner.csv"  # a symlink that stays in
    for outside in ("../secret.csv", "sub/../../secret.csv", "/etc/passwd", "out.csv",
                    "away/notes.txt", "away", "..", str(Path.home() / "x.npz")):
        with pytest.raises(OutsideRootError, match=f"only files in the served folder {root}"):
            confine(Path(outside))


def test_nothing_is_confined_when_not_served(sandbox, monkeypatch):
    monkeypatch.delenv(ROOT_ENV, raising=False)
    assert served_root() is None
    assert confine(Path("/etc/passwd")) == Path("/etc/passwd")
    monkeypatch.setenv(ROOT_ENV, "relative/folder")  # not a folder the server would set
    assert served_root() is None


def test_the_prompt_resolves_typed_paths_inside_only(served):
    assert resolve_path(" mine.csv ") == served / "mine.csv"
    for typed in ("../secret.csv", "~/secret.csv", str(served.parent / "secret.csv"),
                  "out.csv", "away/notes.txt"):
        with pytest.raises(OutsideRootError):
            resolve_path(typed)


def test_completion_lists_nothing_outside(served):
    assert complete_path("mi") == "mine.csv"
    assert complete_path("su") == "sub/"
    assert matching_entries("s") == "sub/"
    for typed in ("../s", "../", "/etc/", "/e", "~/", "away/", "away/n", "sub/../../s"):
        assert complete_path(typed) is None, typed
        assert matching_entries(typed) == "", typed


def test_a_served_apps_runs_stay_in_its_folder(served, private_xdg_dirs, monkeypatch):
    assert archive.runs_dir() == served / archive.SERVED_RUNS_FOLDER
    monkeypatch.delenv(ROOT_ENV)
    assert archive.runs_dir() == private_xdg_dirs / "data" / "nn-tui" / "runs"


async def prompt_answer(pilot, app: NNApp, keys: tuple[str, ...], typed: str) -> PathPrompt:
    await pilot.press(*keys)
    await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
    prompt = app.screen
    prompt.input.value = typed
    await pilot.press("enter")
    await pilot.pause()
    return prompt


@pytest.mark.parametrize(("keys", "typed"), [
    (("w",), "../stolen.npz"),  # save a run
    (("w",), "out.csv"),  # ... named after a symlink out
    (("ctrl+o",), "../secret.csv"),  # open a run
    (("e", "c"), "../bashrc"),  # export the config
    (("e", "c"), "out.csv"),  # ... through a symlink out
    (("L",), "../secret.csv"),  # load a CSV: its cells must not be echoed
    (("L",), "out.csv"),
    (("L",), "/etc/passwd"),
    (("L",), "away/notes.txt"),
])
async def test_the_apps_file_keys_refuse_paths_outside(served, keys, typed):
    before = {p: p.read_bytes() for p in served.parent.rglob("*") if p.is_file()}
    app = NNApp(preset("dlp-xor").replace(epochs=100, log_every=50))
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = await prompt_answer(pilot, app, keys, typed)
        assert app.screen is prompt, "the prompt stays open on a refused path"
        assert prompt.error.startswith(f"only files in the served folder {served}")
        assert "secret" not in prompt.error
    after = {p: p.read_bytes() for p in served.parent.rglob("*") if p.is_file()}
    assert after == before, "nothing was written"
    assert not (served.parent / "stolen.npz").exists()


async def test_the_file_actions_check_again_as_they_touch_the_file(served):
    """The action itself refuses a path outside, whatever prompt handed it over."""
    app = NNApp(preset("dlp-xor").replace(epochs=100, log_every=50))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
        with pytest.raises(OutsideRootError):
            app.screen.action(served.parent / "stolen.npz")
        with pytest.raises(OutsideRootError):  # the name save would add .npz to
            (served / "link").symlink_to(served.parent / "link.npz")
            (served / "link.npz").symlink_to(served.parent / "elsewhere.npz")
            app.screen.action(served / "link")
    assert not (served.parent / "stolen.npz").exists()
    assert not os.path.lexists(served.parent / "elsewhere.npz")


@pytest.mark.parametrize("data_path", ["../secret.csv", "out.csv", "SECRET_ABS"])
async def test_the_editors_csv_path_cannot_reach_outside(served, data_path):
    """The editor's csv field (and a config) reach the data without a prompt: applying a
    config whose data path lies outside the served folder is refused, the run kept."""
    if data_path == "SECRET_ABS":
        data_path = str(served.parent / "secret.csv")
    app = NNApp(preset("dlp-xor").replace(epochs=100, log_every=50))
    async with app.run_test(size=(100, 30)) as pilot:
        trainer = app.session.trainer
        applied = await app.replace(app.session.config.replace(data_path=data_path), "applied")
        await pilot.pause()
        assert not applied and app.session.trainer is trainer
        assert any(f"only files in the served folder {served}" in text
                   for _, text in app.main.log_panel.entries)
        assert not any("secret-cell" in text for _, text in app.main.log_panel.entries)
        inside = await app.replace(app.session.config.replace(data_path="mine.csv"), "applied")
        assert inside and app.session.trainer.data.n_train == 2
