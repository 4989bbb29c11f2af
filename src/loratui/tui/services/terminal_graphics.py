"""Which image protocol the terminal speaks, decided from the environment alone, and textual-image loaded safely.

`detect()` answers "kitty" (the Kitty terminal graphics protocol, TGP), "sixel" or "halfblock" from
environment variables and whether the output is a terminal. It never sends a query to the terminal:
while Textual runs it owns stdin, and the answer to a query would be read as key presses (or a key
press eaten as the answer). The order of the rules:

1. `LORATUI_GRAPHICS=kitty|sixel|halfblock` forces an answer (`tgp` means kitty; `auto` or empty
   means detect; any other value is detect too, and `forced_value_problem()` is the one line that
   says so, which the app shows as it opens), even inside tmux or screen (for users who set
   `allow-passthrough on`) ...
2. ... but never when stdout or stderr is not a terminal (Textual draws on stderr, textual-image
   writes its escapes straight to stdout: both must reach the terminal), nor under pytest.
3. Inside a multiplexer (`TMUX`, `STY`, `ZELLIJ`, `TERM=screen*|tmux*`) -> halfblock: tmux drops
   graphics escapes unless passthrough is on, which it is not by default.
4. Kitty (`KITTY_WINDOW_ID`, `TERM=xterm-kitty`, `TERM_PROGRAM=kitty`) and Ghostty
   (`TERM=xterm-ghostty`, `TERM_PROGRAM=ghostty`, `GHOSTTY_RESOURCES_DIR`) -> kitty. textual-image
   draws TGP images with Unicode placeholders, which these two implement.
5. Sixel terminals: WezTerm (it speaks TGP too, but not its Unicode placeholders, so Sixel is the
   protocol that works there), foot, mlterm, contour, mintty, Konsole >= 22.04, any `TERM=*-sixel`.
6. Everything else (`TERM=linux`, xterm, plain SSH from an unknown terminal...) -> halfblock.

Over SSH only `TERM` usually arrives, so `ssh` from kitty/foot/... still finds the protocol from it.

`ascii_only()` says whether the terminal can show more than ASCII: not on the Linux console (its
fonts lack braille, most block elements, ✓ and ▶), nor under a locale that is not UTF-8.

`load_widget_class(protocol)` imports textual-image lazily (it queries the terminal when imported
with a real terminal on stdout, so the import runs with `sys.__stdout__` swapped for a non-terminal)
and returns its Textual widget for that protocol, wrapped so that a failure while rendering is
reported through a callback instead of reaching Textual as a traceback. It raises
`GraphicsUnavailable` with a short reason when that cannot be done; callers fall back to half-blocks.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

Protocol = Literal["kitty", "sixel", "halfblock"]
PROTOCOLS: tuple[str, ...] = ("kitty", "sixel", "halfblock")
FORCE_VARIABLE = "LORATUI_GRAPHICS"
DEFAULT_CELL_SIZE = (10, 20)  # pixels of one cell when the terminal does not say (textual-image's default too)
MAX_GRAPHICS_SIDE = 2048  # pixels: a larger preview area is drawn from a thumbnail this big at most

_FORCE_ALIASES = {"kitty": "kitty", "tgp": "kitty", "sixel": "sixel", "halfblock": "halfblock",
                  "half-block": "halfblock", "halfblocks": "halfblock"}
_KITTY_TERMS = ("xterm-kitty", "xterm-ghostty", "ghostty")
_KITTY_PROGRAMS = ("kitty", "ghostty")
_SIXEL_TERM_PREFIXES = ("foot", "mlterm", "contour", "wezterm", "mintty")
_SIXEL_PROGRAMS = ("wezterm", "foot", "mlterm", "contour", "mintty")
_KONSOLE_SIXEL_VERSION = 220400  # KONSOLE_VERSION is e.g. "230804"; Sixel arrived in 22.04


class Detection(NamedTuple):
    protocol: Protocol
    reason: str  # one short line: why this protocol (for a settings screen or a debug log)


class GraphicsUnavailable(Exception):
    """textual-image cannot be used; `str(exc)` is a short reason for the user."""


def detect(environ: Mapping[str, str] | None = None, *, tty: bool | None = None) -> Detection:
    """The protocol for this terminal, from the environment only (see the module docstring)."""
    env = os.environ if environ is None else environ
    if tty is None:
        tty = output_is_tty()
    if not tty:
        return Detection("halfblock", "output is not a terminal")
    if env.get("PYTEST_CURRENT_TEST"):
        return Detection("halfblock", "running under tests")
    forced_raw = env.get(FORCE_VARIABLE, "").strip().lower()
    forced = _FORCE_ALIASES.get(forced_raw)
    if forced is not None:
        return Detection(forced, f"{FORCE_VARIABLE}={forced_raw}")  # type: ignore[arg-type]
    term = env.get("TERM", "").lower()
    program = env.get("TERM_PROGRAM", "").lower()
    if env.get("TMUX") or term.startswith("tmux") or program == "tmux":
        return Detection("halfblock", f"inside tmux (set {FORCE_VARIABLE} if passthrough is on)")
    if env.get("STY") or term.startswith("screen"):
        return Detection("halfblock", "inside GNU screen")
    if env.get("ZELLIJ") is not None or program == "zellij":
        return Detection("halfblock", f"inside zellij (set {FORCE_VARIABLE} to try graphics)")
    if term == "linux" or term == "dumb" or not term:
        return Detection("halfblock", f"TERM={term or '(unset)'}")
    if term in _KITTY_TERMS or program in _KITTY_PROGRAMS or env.get("KITTY_WINDOW_ID") \
            or env.get("GHOSTTY_RESOURCES_DIR"):
        return Detection("kitty", f"kitty graphics terminal (TERM={term}{', ' + program if program else ''})")
    if term.endswith("-sixel") or term.startswith(_SIXEL_TERM_PREFIXES) or program in _SIXEL_PROGRAMS \
            or env.get("WEZTERM_EXECUTABLE") or env.get("MLTERM"):
        return Detection("sixel", f"Sixel terminal (TERM={term}{', ' + program if program else ''})")
    konsole = env.get("KONSOLE_VERSION", "")
    if konsole.isdigit() and int(konsole) >= _KONSOLE_SIXEL_VERSION:
        return Detection("sixel", f"Konsole {konsole}")
    return Detection("halfblock", f"no known graphics support (TERM={term}{', ' + program if program else ''})")


def forced_value_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """One line when ``LORATUI_GRAPHICS`` holds a value that is not a mode (it is then ignored), else None."""
    env = os.environ if environ is None else environ
    raw = env.get(FORCE_VARIABLE, "")
    value = raw.strip().lower()
    if not value or value == "auto" or value in _FORCE_ALIASES:
        return None
    return (f"{FORCE_VARIABLE}={raw!r} is not a graphics mode, so it is ignored: use kitty, sixel, halfblock "
            "or auto (the default: detect from the terminal)")


def ascii_only(environ: Mapping[str, str] | None = None) -> bool:
    """Draw with ASCII only (no braille, block elements, ✓, ▶, ...): on the Linux console (TERM=linux),
    whose fonts lack them, and where the locale's character set is not UTF-8 (LANG=C, LC_ALL=C,
    en_US.ISO-8859-1). The locale is read as tmux reads it: the first of LC_ALL, LC_CTYPE, LANG that
    is set; none set counts as UTF-8 (a container or a bare SSH session, where the terminal mostly is)."""
    env = os.environ if environ is None else environ
    if env.get("TERM", "").lower() == "linux":
        return True
    lang = env.get("LANG", "")
    ctype = env.get("LC_CTYPE", "")
    if ctype == "C.UTF-8" and lang.split(".")[0] in ("C", "POSIX"):
        ctype = ""  # Python's own locale coercion (PEP 538) sets LC_CTYPE=C.UTF-8 under LANG=C
    locale = env.get("LC_ALL") or ctype or lang
    if not locale:
        return False
    return "utf-8" not in locale.lower().replace("utf8", "utf-8")


def detect_protocol() -> Protocol:
    """`detect().protocol` for the real environment."""
    return detect().protocol


def output_is_tty() -> bool:
    """Both real stdout and stderr are terminals (Textual draws on stderr, textual-image on stdout)."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            if stream is None or not stream.isatty():
                return False
        except (ValueError, OSError, AttributeError):
            return False
    return True


def cell_pixel_size(environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(width, height) in pixels of one terminal cell, without a terminal query.

    TIOCGWINSZ (an ioctl, nothing is written or read) gives the window's pixel size in most graphics
    terminals; then Textual's `TEXTUAL_CELL_WIDTH`/`TEXTUAL_CELL_HEIGHT`; else 10x20.
    """
    env = os.environ if environ is None else environ
    for stream in (sys.__stdout__, sys.__stderr__):
        size = _ioctl_cell_size(stream)
        if size is not None:
            return size
    width, height = env.get("TEXTUAL_CELL_WIDTH", ""), env.get("TEXTUAL_CELL_HEIGHT", "")
    if width.isdigit() and height.isdigit() and _plausible(int(width), int(height)):
        return int(width), int(height)
    return DEFAULT_CELL_SIZE


def _ioctl_cell_size(stream: Any) -> tuple[int, int] | None:
    try:
        import fcntl
        import struct
        import termios

        if stream is None or not stream.isatty():
            return None
        packed = fcntl.ioctl(stream.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        rows, cols, xpixels, ypixels = struct.unpack("HHHH", packed)
    except Exception:  # no termios (Windows), closed stream, not a terminal...
        return None
    if not rows or not cols or not xpixels or not ypixels:
        return None
    width, height = xpixels // cols, ypixels // rows
    return (width, height) if _plausible(width, height) else None


def _plausible(width: int, height: int) -> bool:
    return 2 <= width <= 200 and 4 <= height <= 400


# ---- textual-image, imported lazily and without its terminal query ---------------------------------

_LOAD_LOCK = threading.Lock()
_widget_classes: dict[str, type] = {}
_load_errors: dict[str, str] = {}


class _HiddenStdout:
    """Stands in for `sys.__stdout__` during the import: not a terminal, so textual-image asks nothing."""

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        raise OSError("hidden stdout has no file descriptor")


def _import_textual_image() -> Any:
    """Import textual_image.widget with the real stdout hidden; returns the module."""
    loaded = sys.modules.get("textual_image.widget")
    if loaded is not None:
        return loaded  # imported before (before App.run, say): its queries, if any, are done
    terminal = sys.modules.get("textual_image._terminal")
    knows_cell_size = terminal is not None and hasattr(terminal.get_cell_size, "_result")
    real = sys.__stdout__
    sys.__stdout__ = _HiddenStdout()  # type: ignore[assignment,misc]
    try:
        import textual_image.widget as widget_module
    finally:
        sys.__stdout__ = real  # type: ignore[misc]
    if not knows_cell_size:
        _prime_cell_size()
    return widget_module


def _prime_cell_size() -> None:
    """Give textual-image our cell size: with stdout hidden it cached its 10x20 default."""
    try:
        from textual_image._terminal import CellSize, get_cell_size

        get_cell_size._result = CellSize(*cell_pixel_size())  # type: ignore[attr-defined]
    except Exception:
        pass  # a textual-image without this cache keeps its own answer


def graphics_cell_size() -> tuple[int, int]:
    """The cell size textual-image computes with (ours when we imported it); call after a load."""
    try:
        from textual_image._terminal import get_cell_size

        size = get_cell_size()
        return int(size.width), int(size.height)
    except Exception:
        return cell_pixel_size()


def load_widget_class(protocol: str) -> type:
    """textual-image's widget for `protocol` ("kitty" or "sixel"), guarded; raises GraphicsUnavailable.

    Safe from any thread; the first call imports textual-image (~0.1 s), later calls are a dict lookup.
    The returned class takes `(image, on_failure=callable)`; `on_failure(exc)` is called once, from
    the UI thread, if drawing fails, and the widget then draws nothing.
    """
    if protocol not in ("kitty", "sixel"):
        raise GraphicsUnavailable(f"no graphics widget for {protocol!r}")
    with _LOAD_LOCK:
        cls = _widget_classes.get(protocol)
        if cls is not None:
            return cls
        if protocol in _load_errors:
            raise GraphicsUnavailable(_load_errors[protocol])
        try:
            module = _import_textual_image()
            cls = _build_widget_class(protocol, module)
        except ImportError as exc:
            missing = getattr(exc, "name", None) or "textual-image"
            reason = ("textual-image is not installed" if missing.startswith("textual_image")
                      else f"textual-image cannot be imported ({missing} missing)")
            _load_errors[protocol] = reason
            raise GraphicsUnavailable(reason) from exc
        except Exception as exc:
            _load_errors[protocol] = reason = f"textual-image failed to load: {_short(exc)}"
            raise GraphicsUnavailable(reason) from exc
        _widget_classes[protocol] = cls
        return cls


def _reset_for_tests() -> None:
    with _LOAD_LOCK:
        _widget_classes.clear()
        _load_errors.clear()


def _short(exc: BaseException, limit: int = 70) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split()) if str(exc) else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failure_reason(exc: BaseException) -> str:
    """A one-line reason for a rendering failure."""
    return _short(exc)


def _build_widget_class(protocol: str, module: Any) -> type:
    """Subclasses of textual-image's widgets whose drawing reports failures instead of raising."""
    from textual.strip import Strip

    def guarded_render_lines(base_render_lines: Callable[[Any, Any], list[Any]]) -> Callable[[Any, Any], list[Any]]:
        def render_lines(self: Any, crop: Any) -> list[Any]:
            # blanks in the widget's own style: a segment without one breaks Textual's NO_COLOR filter
            if getattr(self, "_loratui_failed", False):
                return [Strip.blank(crop.width, self.rich_style)] * crop.height
            try:
                return base_render_lines(self, crop)
            except Exception as exc:  # whatever the renderable raised: report it, draw nothing
                self._loratui_failed = True
                callback = getattr(self, "_loratui_on_failure", None)
                if callback is not None:
                    try:
                        self.app.call_later(callback, exc)
                    except Exception:
                        pass  # no app any more: nothing to tell
                return [Strip.blank(crop.width, self.rich_style)] * crop.height

        return render_lines

    if protocol == "kitty":
        base = module.TGPImage
        renderable = module.TGPRenderable

        class GuardedTGPImage(base, Renderable=renderable):  # type: ignore[misc,valid-type,call-arg]
            """textual-image's TGPImage; a failure while drawing goes to `on_failure`."""

            def __init__(self, image: Any = None, *, on_failure: Callable[[BaseException], None] | None = None,
                         **kwargs: Any) -> None:
                self._loratui_on_failure = on_failure
                self._loratui_failed = False
                super().__init__(image, **kwargs)

            render_lines = guarded_render_lines(base.render_lines)

            def release(self) -> None:
                """Delete the image from the terminal's memory (before the widget goes away)."""
                try:
                    self.image = None
                except Exception:
                    pass

        return GuardedTGPImage

    from textual_image.widget import sixel as sixel_module

    base_sixel = module.SixelImage
    impl = sixel_module._ImageSixelImpl  # the child that injects the Sixel data while drawing

    class GuardedSixelImpl(impl):  # type: ignore[misc,valid-type]
        render_lines = guarded_render_lines(impl.render_lines)

    class GuardedSixelImage(base_sixel, Renderable=base_sixel._Renderable):  # type: ignore[misc,valid-type,call-arg]
        """textual-image's SixelImage; a failure while drawing goes to `on_failure`."""

        def __init__(self, image: Any = None, *, on_failure: Callable[[BaseException], None] | None = None,
                     **kwargs: Any) -> None:
            self._loratui_on_failure = on_failure
            super().__init__(image, **kwargs)

        def compose(self) -> Any:
            child = GuardedSixelImpl(self.image, getattr(self, "_sixel_options", None))
            child._loratui_on_failure = self._loratui_on_failure
            child._loratui_failed = False
            yield child

        def release(self) -> None:
            pass  # Sixel pixels live in the terminal's cells; redrawing the cells replaces them

    return GuardedSixelImage
