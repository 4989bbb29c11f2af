"""The app's theme parts, mixed into LoratuiApp: the palette's theme commands, loratui's own theme
variables' defaults, and a theme Textual's CSS refuses replaced by the last good one (services/themes.py
checks the files; this catches what only applying them finds)."""

from __future__ import annotations

from loratui.tui.palette import PaletteCommand


class AppThemes:
    """Mixin for LoratuiApp (an App with ``theme``, ``current_theme`` and ``theme_catalog``)."""

    def _theme_commands(self) -> list[PaletteCommand]:
        """The shipped themes and the user's own files; Textual's twenty built-ins would bury them."""
        catalog = getattr(self, "theme_catalog", None)
        names = catalog.names() if catalog is not None else []
        return [PaletteCommand(f"theme: {name}", (f"your theme ({catalog.sources[name].name}), remembered"
                                                  if name in catalog.user_names else "switch theme, remembered"),
                               lambda n=name: setattr(self, "theme", n))
                for name in sorted(names)]

    _good_theme: str | None = None  # the last theme Textual applied: where a refused one falls back to
    theme_fallback: str | None = None  # the theme put in for a refused one (services.themes does not save it)

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """loratui's variables (tag-chip, loss-line...) for a theme that does not set them."""
        from loratui.tui.services.themes import loratui_variable_defaults

        return loratui_variable_defaults(self.current_theme)

    def refresh_css(self, animate: bool = True) -> None:
        """Textual's; a theme whose values its CSS refuses (what the file check let by) is replaced by
        the previous theme (or loratui-dark) with one line, instead of ending the app."""
        from textual.css.stylesheet import StylesheetParseError

        from loratui.tui.services.themes import replace_refused_theme

        try:
            super().refresh_css(animate)
        except StylesheetParseError as error:
            replace_refused_theme(self, error, self._good_theme)  # applies the fallback (this, again)
            return
        self._good_theme = self.theme
