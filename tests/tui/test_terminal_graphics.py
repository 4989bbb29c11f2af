"""terminal_graphics: protocol detection from the environment, cell size, and textual-image loaded without a query."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from loratui.tui.services import terminal_graphics as tg

# every variable detect() looks at: cleared before each case so the outer terminal does not leak in
VARIABLES = ("TERM", "TERM_PROGRAM", "KITTY_WINDOW_ID", "GHOSTTY_RESOURCES_DIR", "WEZTERM_EXECUTABLE", "MLTERM",
             "KONSOLE_VERSION", "TMUX", "STY", "ZELLIJ", "PYTEST_CURRENT_TEST", "LORATUI_GRAPHICS",
             "SSH_CONNECTION", "SSH_TTY")


@pytest.fixture
def environment(monkeypatch):
    """Set the environment (in os.environ) and whether the output is a terminal, then detect()."""

    def detect(tty: bool = True, **env: str) -> tg.Detection:
        for name in VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(tg, "output_is_tty", lambda: tty)
        return tg.detect()

    return detect


MATRIX = [
    # (case, environment, expected)
    ("kitty by TERM", {"TERM": "xterm-kitty"}, "kitty"),
    ("kitty by window id", {"TERM": "xterm-256color", "KITTY_WINDOW_ID": "3"}, "kitty"),
    ("kitty over ssh", {"TERM": "xterm-kitty", "SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, "kitty"),
    ("ghostty", {"TERM": "xterm-ghostty", "TERM_PROGRAM": "ghostty"}, "kitty"),
    ("wezterm: sixel (no TGP placeholders)", {"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, "sixel"),
    ("wezterm TERM", {"TERM": "wezterm"}, "sixel"),
    ("foot", {"TERM": "foot"}, "sixel"),
    ("foot-extra", {"TERM": "foot-extra"}, "sixel"),
    ("mlterm", {"TERM": "mlterm"}, "sixel"),
    ("contour", {"TERM": "contour"}, "sixel"),
    ("a -sixel TERM", {"TERM": "yaft-sixel"}, "sixel"),
    ("konsole 23.08", {"TERM": "xterm-256color", "KONSOLE_VERSION": "230804"}, "sixel"),
    ("konsole 21.12", {"TERM": "xterm-256color", "KONSOLE_VERSION": "211200"}, "halfblock"),
    ("tmux in kitty", {"TERM": "tmux-256color", "TMUX": "/tmp/tmux-1000/default,1,0", "KITTY_WINDOW_ID": "1",
                       "TERM_PROGRAM": "tmux"}, "halfblock"),
    ("tmux, TERM kept", {"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-1000/default,1,0"}, "halfblock"),
    ("screen TERM", {"TERM": "screen-256color"}, "halfblock"),
    ("screen STY", {"TERM": "foot", "STY": "1234.pts-0.host"}, "halfblock"),
    ("zellij", {"TERM": "xterm-kitty", "ZELLIJ": "0"}, "halfblock"),
    ("linux console", {"TERM": "linux"}, "halfblock"),
    ("plain xterm", {"TERM": "xterm-256color"}, "halfblock"),
    ("plain ssh", {"TERM": "xterm-256color", "SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, "halfblock"),
    ("no TERM", {}, "halfblock"),
    ("forced sixel in tmux", {"TERM": "tmux-256color", "TMUX": "x", "LORATUI_GRAPHICS": "sixel"}, "sixel"),
    ("forced kitty on linux", {"TERM": "linux", "LORATUI_GRAPHICS": "kitty"}, "kitty"),
    ("forced tgp", {"TERM": "xterm", "LORATUI_GRAPHICS": "TGP"}, "kitty"),
    ("forced halfblock in kitty", {"TERM": "xterm-kitty", "LORATUI_GRAPHICS": "halfblock"}, "halfblock"),
    ("auto detects", {"TERM": "foot", "LORATUI_GRAPHICS": "auto"}, "sixel"),
    ("unknown value detects", {"TERM": "xterm-kitty", "LORATUI_GRAPHICS": "bogus"}, "kitty"),
]


@pytest.mark.parametrize("case, env, expected", MATRIX, ids=[case for case, _, _ in MATRIX])
def test_detection_matrix(environment, case: str, env: dict[str, str], expected: str) -> None:
    found = environment(**env)
    assert found.protocol == expected, found
    assert found.reason


@pytest.mark.parametrize("env", [{"TERM": "xterm-kitty"}, {"TERM": "foot", "LORATUI_GRAPHICS": "sixel"}])
def test_not_a_terminal_means_half_blocks_even_when_forced(environment, env) -> None:
    found = environment(tty=False, **env)
    assert found == ("halfblock", "output is not a terminal")


def test_under_pytest_means_half_blocks_even_when_forced(environment) -> None:
    found = environment(TERM="xterm-kitty", LORATUI_GRAPHICS="kitty", PYTEST_CURRENT_TEST="t.py::x (call)")
    assert found.protocol == "halfblock" and "tests" in found.reason


def test_detect_takes_an_explicit_mapping() -> None:
    assert tg.detect({"TERM": "foot"}, tty=True).protocol == "sixel"
    assert tg.detect({"TERM": "foot"}, tty=False).protocol == "halfblock"


class FakeStream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def fileno(self) -> int:
        raise OSError("no descriptor")


@pytest.mark.parametrize("stdout, stderr, expected", [(True, True, True), (False, True, False), (True, False, False)])
def test_output_is_tty_needs_both_streams(monkeypatch, stdout: bool, stderr: bool, expected: bool) -> None:
    monkeypatch.setattr(sys, "__stdout__", FakeStream(stdout))
    monkeypatch.setattr(sys, "__stderr__", FakeStream(stderr))
    assert tg.output_is_tty() is expected
    monkeypatch.setattr(sys, "__stdout__", None)
    assert tg.output_is_tty() is False


def test_cell_size_without_a_terminal(monkeypatch) -> None:
    monkeypatch.setattr(sys, "__stdout__", FakeStream(False))
    monkeypatch.setattr(sys, "__stderr__", FakeStream(False))
    assert tg.cell_pixel_size({}) == (10, 20)
    assert tg.cell_pixel_size({"TEXTUAL_CELL_WIDTH": "8", "TEXTUAL_CELL_HEIGHT": "17"}) == (8, 17)
    assert tg.cell_pixel_size({"TEXTUAL_CELL_WIDTH": "0", "TEXTUAL_CELL_HEIGHT": "x"}) == (10, 20)


def test_unknown_protocol_has_no_widget() -> None:
    with pytest.raises(tg.GraphicsUnavailable):
        tg.load_widget_class("halfblock")


def test_missing_textual_image_is_a_reason_not_a_traceback(monkeypatch) -> None:
    def missing():
        raise ImportError("No module named 'textual_image'", name="textual_image")

    tg._reset_for_tests()
    monkeypatch.setattr(tg, "_import_textual_image", missing)
    try:
        with pytest.raises(tg.GraphicsUnavailable, match="textual-image is not installed"):
            tg.load_widget_class("kitty")
        with pytest.raises(tg.GraphicsUnavailable, match="not installed"):  # remembered, not retried
            tg.load_widget_class("kitty")
    finally:
        tg._reset_for_tests()


def test_widget_classes_wrap_textual_image() -> None:
    kitty, sixel = tg.load_widget_class("kitty"), tg.load_widget_class("sixel")  # first: no query with -s
    from textual_image.widget import SixelImage, TGPImage

    assert issubclass(kitty, TGPImage) and issubclass(sixel, SixelImage)
    assert tg.load_widget_class("kitty") is kitty


# ---- the import sends no query to a real terminal ---------------------------------------------------

CHILD = r"""
import sys, time
start = time.perf_counter()
{imports}
sys.stdout.write("\nDONE %.3f %s\n" % (time.perf_counter() - start, {cell}))
sys.stdout.flush()
"""

QUERIES = ("\x1b[c", "\x1b_G", "\x1b[16t")


def _run_on_a_pty(code: str) -> str:
    """Run `code` with stdin/stdout/stderr on a pseudo-terminal (cells of 9x18 px); return what it wrote."""
    pty = pytest.importorskip("pty")
    import fcntl
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 80 * 9, 24 * 18))
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
    finally:
        proc.wait(timeout=30)
        os.close(master)
    assert proc.returncode == 0, out.decode(errors="replace")
    return out.decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_lazy_import_sends_no_terminal_query() -> None:
    # the plain import does query (the test would catch it) ...
    plain = _run_on_a_pty(CHILD.format(imports="import textual_image.widget", cell="None"))
    assert any(q in plain for q in QUERIES), repr(plain)
    # ... ours does not, and gives textual-image the cell size from TIOCGWINSZ
    ours = _run_on_a_pty(CHILD.format(
        imports="from loratui.tui.services import terminal_graphics as tg\n"
                "tg.load_widget_class('kitty'); tg.load_widget_class('sixel')",
        cell="tg.graphics_cell_size()"))
    assert not any(q in ours for q in QUERIES), repr(ours)
    assert "DONE" in ours and "(9, 18)" in ours, repr(ours)
