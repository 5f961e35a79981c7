"""The command palette (ctrl+p): every binding as a command, the exports, presets,
datasets and speeds one by one, and the keys of the full screen shown. Mixed into
``NNApp``."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import ThemeProvider

from engine import DATASET_NAMES, PRESET_NAMES, preset
from tui.core.training import SPEEDS, speed_text


class PaletteCommands:
    """The palette's commands (a mixin of ``NNApp``, a Textual ``App``)."""

    def action_command_palette(self) -> None:
        """ctrl+p: the command palette (ours: ``tui.screens.prompts.CommandPalette`` mends
        races)."""
        from tui.screens.prompts import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette(id="--command-palette"))

    def search_themes(self) -> None:
        """t: the theme picker, in the same palette."""
        from tui.screens.prompts import CommandPalette

        self.push_screen(CommandPalette(providers=[ThemeProvider],
                                        placeholder="Search for themes…"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every binding as a command (title = its description, help = its key), the
        exports one by one, and the keys of the inspect or runs screen when it is shown."""
        from tui.screens.help import key_label
        from tui.screens.prompts import EXPORTS

        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or binding.id in ("leave-field", "theme", "quit"):
                continue
            detail = getattr(binding, "detail", "")
            yield SystemCommand(
                binding.tooltip or binding.description,
                f"{detail}  · key {key_label(binding, self)}".strip(),
                self._command(binding.action),
            )
        for kind, (key, title, default) in EXPORTS.items():
            where = "folder" if kind == "figures" else "file"
            yield SystemCommand(f"Export {title}",
                                f"to a {where}, {default} by default  · key e {key}",
                                self._command(f"export_to('{kind}')"))
        yield SystemCommand("Load a sweep CSV into the runs table",
                            "the CSV nn-tui sweep writes  · key R then o",
                            self._command("load_sweep"))
        yield from self._choice_commands()
        if getattr(screen, "PALETTE_KEYS", False):  # a full screen offers its own keys
            for binding in screen.BINDINGS:
                if isinstance(binding, Binding) and binding.tooltip and \
                        ".sort-" not in (binding.id or ""):
                    yield SystemCommand(binding.tooltip, f"key {key_label(binding, self)}",
                                        self._screen_command(screen, binding.action))
        yield from super().get_system_commands(screen)

    def _choice_commands(self) -> Iterable[SystemCommand]:
        """A command per preset, per generated dataset and per speed cap: what a class
        switches between, by name rather than by cycling."""
        for name in PRESET_NAMES:
            yield SystemCommand(f"Preset: {name}", f"{self.describe(preset(name))}  · "
                                "replaces the run", self._command(f"use_preset('{name}')"))
        for name in DATASET_NAMES:
            yield SystemCommand(f"Dataset: {name}", "the same network on this dataset  · "
                                "replaces the run, as c does",
                                self._command(f"use_dataset('{name}')"))
        for speed in SPEEDS:
            yield SystemCommand(f"Speed: {speed_text(speed)}",
                                "cap the training speed, to watch it  · keys { }",
                                self._command(f"set_speed({speed or 0})"))

    def _command(self, action: str):
        async def run() -> None:
            await self.run_action(action)

        return run

    @staticmethod
    def _screen_command(screen: Screen, action: str):
        async def run() -> None:
            await screen.run_action(action)

        return run
