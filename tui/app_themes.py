"""The app's themes and settings: nn-tui's themes registered, the user's choice
remembered, NO_COLOR's filter chosen for the theme in use. Mixed into ``NNApp``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from textual.filter import LineFilter, Monochrome, NoColor

from themes import DEFAULT_THEME, load_themes, theme_variables
from tui.core.settings import load_settings, save_settings, user_themes_dir


class ThemeSupport:
    """Themes and settings (a mixin of ``NNApp``, a Textual ``App``)."""

    def _setup_themes(self) -> None:
        themes, warnings = load_themes(user_themes_dir())
        for theme in themes.values():
            self.register_theme(theme)
        self._settings, more = load_settings()
        warnings += more
        wanted = getattr(self._settings, "theme", None) or DEFAULT_THEME
        if wanted not in self.available_themes:
            warnings.append(f'theme "{wanted}" is not available; using {DEFAULT_THEME}')
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self._startup_warnings = warnings
        self.theme = wanted

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, with NO_COLOR's one chosen for the theme now in use.

        Textual picks NO_COLOR's filter once, in ``App.__init__``, for the theme current
        then (``textual-dark``): ``Monochrome``, which turns colours into greys by their
        RGB. ANSI colours carry no RGB (0, 0, 0 stands in), so after a switch to an
        ANSI theme (nn-ansi16) every colour, text and background alike, became black.
        An ANSI theme gets ``NoColor`` (the terminal's own two colours; ``:nocolor``
        rules mark the highlights by reverse video), an RGB theme ``Monochrome``.
        """
        filters = super().get_line_filters()
        if not self.no_color:
            return filters
        wanted = self._no_color_filters[self.native_ansi_color]
        return [
            wanted if isinstance(line_filter, NoColor | Monochrome) else line_filter
            for line_filter in filters
        ]

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """nn-tui's own variables ($log-rate, $class-0 ...) for Textual's built-in themes too."""
        try:
            return {**super().get_theme_variable_defaults(), **theme_variables(self.current_theme)}
        except Exception:  # a theme our helpers cannot read: Textual's defaults only
            return super().get_theme_variable_defaults()

    def watch_theme(self, name: str) -> None:
        """Remember the theme the user picks (not the one applied at start)."""
        if not self._started or self._settings is None:
            return
        if getattr(self._settings, "theme", None) == name:
            return
        self._settings = dataclasses.replace(self._settings, theme=name)
        try:
            save_settings(self._settings)
        except OSError as error:
            self.notify(f"could not save the theme choice: {error}", severity="warning")
