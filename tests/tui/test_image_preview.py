"""ImagePreview (half-blocks, Kitty/Sixel through textual-image, fallbacks, errors, mode off) and ThumbnailCache.

The Kitty and Sixel tests run textual-image's real widgets headless: its TGP renderable writes the
image escapes straight to `sys.__stdout__`, which the tests swap for a StringIO and read back; the
Sixel widget puts its escapes into the strips it renders, which the tests render directly.
"""

from __future__ import annotations

import asyncio
import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image
from textual.app import App, ComposeResult

from loratui.tui.services import terminal_graphics
from loratui.tui.services.thumbnails import Thumbnail, ThumbnailCache, ThumbnailError
from loratui.tui.widgets.image_preview import MODES, ImagePreview

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def two_band_image(path: Path, size=(16, 16), fmt: str | None = None) -> Path:
    """Top half red, bottom half blue."""
    im = Image.new("RGB", size, RED)
    im.paste(BLUE, (0, size[1] // 2, size[0], size[1]))
    im.save(path, format=fmt, quality=95) if fmt == "JPEG" else im.save(path, format=fmt)
    return path


def bomb_png(path: Path, width: int = 30_000, height: int = 30_000) -> Path:
    """A PNG header that claims 900 megapixels (a few bytes on disk)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


class PreviewApp(App):
    def __init__(self, preview: ImagePreview) -> None:
        super().__init__()
        self.preview = preview
        self.updates: list[ImagePreview.Updated] = []

    def compose(self) -> ComposeResult:
        yield self.preview

    def on_image_preview_updated(self, message: ImagePreview.Updated) -> None:
        self.updates.append(message)


def run(preview: ImagePreview, test, size=(30, 11)) -> None:
    async def main() -> None:
        app = PreviewApp(preview)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await test(app, pilot, preview)

    asyncio.run(main())


async def settle(pilot, until=lambda preview: True) -> None:
    """Until the preview shows what was made for its current path, size and protocol (and `until` holds).

    Not "nothing is loading": under load the first decode can finish for the size of a layout pass
    that is not the last one, and the Resize that asks again is not processed yet.
    """
    preview = pilot.app.query_one(ImagePreview)
    for _ in range(400):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if preview.is_settled and until(preview):
            return
    raise AssertionError(f"the preview never settled (loading={preview.is_loading}, protocol={preview.protocol})")


def lines(preview: ImagePreview) -> list[str]:
    return [preview.render_line(y).text for y in range(preview.size.height)]


def colours(preview: ImagePreview, y: int) -> set[tuple]:
    """(fg, bg) triplets of the half-block cells on line y."""
    found = set()
    for segment in preview.render_line(y):
        if "▀" in segment.text:
            style = segment.style
            fg = style.color.triplet if style.color and style.color.triplet else None
            bg = style.bgcolor.triplet if style.bgcolor and style.bgcolor.triplet else None
            found.add((tuple(fg) if fg else None, tuple(bg) if bg else None))
    return found


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("JPEG", ".jpg")])
def test_half_blocks_show_the_image(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = two_band_image(tmp_path / f"bands{suffix}", fmt=fmt)
    preview = ImagePreview(path, cache=ThumbnailCache())

    async def check(app, pilot, preview: ImagePreview) -> None:
        await settle(pilot, lambda p: tuple(p.size) == (30, 11))  # the final layout, and its decode
        text = lines(preview)
        # 30x11 cells: 10 image lines (20 px) + the info line; a square image is 20x20 px
        assert [line.count("▀") for line in text[:10]] == [20] * 10
        assert text[10].strip().startswith("16x16 · ")
        assert preview.info.startswith("16x16 · ") and preview.error is None
        top, bottom = colours(preview, 0), colours(preview, 9)

        def near(c, want):
            return c is not None and all(abs(a - b) < 40 for a, b in zip(c, want))

        assert all(near(fg, RED) and near(bg, RED) for fg, bg in top)
        assert all(near(fg, BLUE) and near(bg, BLUE) for fg, bg in bottom)
        assert app.updates and app.updates[-1].info == preview.info

    run(preview, check)


def test_odd_pixel_rows_leave_the_last_half_cell_empty(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    Image.new("RGB", (40, 10), GREEN).save(path)
    cache = ThumbnailCache()
    thumb = cache.get(path, 32, 10)
    assert isinstance(thumb, Thumbnail) and (thumb.width, thumb.height) == (32, 8)
    thumb = cache.get(path, 36, 10)  # 36 px wide -> 9 px high: the last line has one pixel row
    assert isinstance(thumb, Thumbnail) and (thumb.width, thumb.height) == (36, 9)
    from loratui.tui.widgets.image_preview import halfblock_strips

    strips = halfblock_strips(thumb)
    assert len(strips) == thumb.cell_rows
    last = [seg.style.bgcolor for seg in strips[-1] if seg.text.strip()]
    assert last and all(bg is None for bg in last)


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.png", b"", "file is empty"),
        ("text.png", b"not an image at all\n" * 10, "not a known image format"),
    ],
)
def test_bad_files_show_their_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    preview = ImagePreview(path, cache=ThumbnailCache())

    async def check(app, pilot, preview: ImagePreview) -> None:
        assert reason in preview.error
        text = " ".join(line.strip() for line in lines(preview))
        assert text.startswith("✗ broken image:") and reason in text
        assert preview.info == ""

    run(preview, check, size=(60, 10))


def test_truncated_file_shows_its_reason_then_the_next_image(tmp_path: Path) -> None:
    good = two_band_image(tmp_path / "good.jpg", size=(64, 64), fmt="JPEG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    preview = ImagePreview(truncated, cache=ThumbnailCache())

    async def check(app, pilot, preview: ImagePreview) -> None:
        assert preview.error == "cannot decode: truncated file"
        assert "truncated" in " ".join(lines(preview))
        preview.show(good)
        await settle(pilot)
        assert preview.error is None and "▀" in lines(preview)[0]
        preview.show(None)
        await pilot.pause()
        assert all(not line.strip() for line in lines(preview))

    run(preview, check)


def test_mode_off_shows_one_line_and_decodes_nothing(tmp_path: Path) -> None:
    path = two_band_image(tmp_path / "a.png")
    cache = ThumbnailCache()
    preview = ImagePreview(path, mode="off", cache=cache)

    async def check(app, pilot, preview: ImagePreview) -> None:
        assert lines(preview)[0].strip() == "preview off (setting)"
        assert cache.misses == 0
        preview.mode = "halfblock"
        await settle(pilot)
        assert "▀" in lines(preview)[0]
        with pytest.raises(ValueError):
            preview.mode = "sixel-please"

    run(preview, check)


def test_same_path_is_a_no_op_and_resize_recomputes(tmp_path: Path) -> None:
    path = two_band_image(tmp_path / "a.png")
    cache = ThumbnailCache()
    preview = ImagePreview(path, cache=cache)

    async def check(app, pilot, preview: ImagePreview) -> None:
        assert cache.misses == 1
        preview.show(path)
        preview.show(str(path))
        await settle(pilot)
        assert (cache.misses, cache.hits) == (1, 0)
        await pilot.resize_terminal(50, 21)
        await settle(pilot)
        assert cache.misses == 2
        assert lines(preview)[0].count("▀") == 40  # 20 image lines -> 40x40 px
        await pilot.resize_terminal(30, 11)
        await settle(pilot)
        assert (cache.misses, cache.hits) == (2, 1)  # back to the first size: cached

    run(preview, check)


def test_rapid_show_keeps_only_the_last(tmp_path: Path) -> None:
    paths = [two_band_image(tmp_path / f"{i}.png", size=(8 + i, 8)) for i in range(20)]
    preview = ImagePreview(cache=ThumbnailCache())

    async def check(app, pilot, preview: ImagePreview) -> None:
        for path in paths:
            preview.show(path)
        await settle(pilot)
        assert preview.path == paths[-1]
        assert preview.info.startswith("27x8 · ")
        assert [u.path for u in app.updates][-1] == paths[-1]

    run(preview, check)


# ---- Kitty / Sixel through textual-image ------------------------------------------------------


@pytest.fixture
def fake_stdout(monkeypatch) -> io.StringIO:
    """textual-image writes TGP escapes straight to sys.__stdout__: catch them here."""
    out = io.StringIO()
    monkeypatch.setattr(sys, "__stdout__", out)
    return out


@pytest.fixture
def fresh_graphics():
    terminal_graphics._reset_for_tests()
    yield
    terminal_graphics._reset_for_tests()


def graphic_of(preview: ImagePreview):
    from textual_image.widget import SixelImage, TGPImage

    found = [w for w in preview.children if isinstance(w, (TGPImage, SixelImage))]
    assert len(found) <= 1
    return found[0] if found else None


def rendered_text(widget) -> str:
    from textual.geometry import Region

    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "".join(segment.text for strip in strips for segment in strip)


@pytest.mark.parametrize("mode", ["kitty", "sixel"])
def test_graphics_modes_draw_the_thumbnail_with_textual_image(tmp_path: Path, fake_stdout, mode: str) -> None:
    path = two_band_image(tmp_path / "bands.png", size=(64, 48))
    cache = ThumbnailCache()
    preview = ImagePreview(path, mode=mode, cache=cache)

    async def check(app, pilot, preview: ImagePreview) -> None:
        await settle(pilot, lambda p: graphic_of(p) is not None)
        await pilot.pause()
        assert (preview.protocol, preview.note, preview.error) == (mode, None, None)
        graphic = graphic_of(preview)
        assert graphic.display
        # the widget was given the cached thumbnail (the 30x10 cells at the cell resolution), not the file
        hits = cache.hits
        thumb = cache.get(path, 30, 10, cell=terminal_graphics.graphics_cell_size())
        assert cache.hits == hits + 1 and isinstance(thumb, Thumbnail)
        assert graphic.image.size == (thumb.width, thumb.height)
        assert tuple(graphic.size) == (thumb.cell_cols, thumb.cell_rows)
        assert graphic.region.x == (30 - thumb.cell_cols) // 2
        if mode == "kitty":
            assert chr(0x10EEEE) in rendered_text(graphic)  # Unicode placeholders for the image
            sent = fake_stdout.getvalue()
            assert "\x1b_G" in sent and "f=100" in sent  # the PNG went to the terminal
        else:
            sixels = rendered_text(graphic.children[0])
            assert "\x1bP" in sixels and "q" in sixels  # a Sixel DCS sequence in the strips
        text = lines(preview)
        assert text[thumb.cell_rows].strip().startswith("64x48 · ")
        assert preview.info.startswith("64x48 · ") and app.updates[-1].info == preview.info
        assert all("▀" not in line for line in text)

    run(preview, check)


@pytest.mark.parametrize("mode", ["auto", "kitty", "sixel", "halfblock"])
@pytest.mark.parametrize(
    "name, content, reason",
    [("empty.png", b"", "file is empty"), ("text.png", b"not an image at all\n" * 10, "not a known image format")],
)
def test_broken_images_show_their_reason_in_every_mode(
    tmp_path: Path, fake_stdout, mode: str, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    preview = ImagePreview(path, mode=mode, cache=ThumbnailCache())

    async def check(app, pilot, preview: ImagePreview) -> None:
        assert reason in preview.error
        text = " ".join(line.strip() for line in lines(preview))
        assert text.startswith("✗ broken image:") and reason in text
        graphic = graphic_of(preview) if mode in ("kitty", "sixel") else None
        assert graphic is None or not graphic.display

    run(preview, check, size=(60, 10))


def test_graphics_then_a_broken_image_then_a_good_one(tmp_path: Path, fake_stdout) -> None:
    good = two_band_image(tmp_path / "good.png", size=(32, 32))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnope")
    preview = ImagePreview(good, mode="kitty", cache=ThumbnailCache())

    async def check(app, pilot, preview: ImagePreview) -> None:
        await settle(pilot, lambda p: graphic_of(p) is not None)
        preview.show(broken)
        await settle(pilot)
        assert "broken image" in lines(preview)[0] and not graphic_of(preview).display
        preview.show(good)
        await settle(pilot)
        assert graphic_of(preview).display and preview.error is None

    run(preview, check)


def _raise_in_tgp(monkeypatch) -> None:
    import textual_image.renderable.tgp as tgp

    def boom(self, console, options):
        raise RuntimeError("boom")
        yield  # a generator, like the real one

    monkeypatch.setattr(tgp.Image, "__rich_console__", boom)


def _raise_in_sixel(monkeypatch) -> None:
    import textual_image.widget.sixel as sixel

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sixel, "image_to_sixels", boom)


@pytest.mark.parametrize("mode, breaker", [("kitty", _raise_in_tgp), ("sixel", _raise_in_sixel)])
def test_a_failing_graphics_widget_falls_back_to_half_blocks(
    tmp_path: Path, fake_stdout, monkeypatch, mode: str, breaker
) -> None:
    terminal_graphics.load_widget_class(mode)  # import first, so the patch lands on the loaded module
    breaker(monkeypatch)
    path = two_band_image(tmp_path / "a.png")
    preview = ImagePreview(path, mode=mode, cache=ThumbnailCache())

    async def check(app, pilot, preview: ImagePreview) -> None:
        await settle(pilot, lambda p: p.protocol == "halfblock")
        label = mode.capitalize()
        assert preview.note == f"half-blocks: {label} graphics failed (RuntimeError: boom)"
        assert graphic_of(preview) is None
        text = lines(preview)
        assert "▀" in text[0] and any(line.strip().startswith("half-blocks: ") for line in text)
        assert app.is_running and app.return_code is None  # no traceback, the app goes on
        preview.mode = "halfblock"  # choosing a mode clears the note
        await settle(pilot)
        assert preview.note is None

    run(preview, check, size=(70, 12))


def test_missing_textual_image_falls_back_with_a_note(tmp_path: Path, monkeypatch, fresh_graphics) -> None:
    def missing():
        raise ImportError("No module named 'textual_image'", name="textual_image")

    monkeypatch.setattr(terminal_graphics, "_import_textual_image", missing)
    path = two_band_image(tmp_path / "a.png")
    preview = ImagePreview(path, mode="sixel", cache=ThumbnailCache())

    async def check(app, pilot, preview: ImagePreview) -> None:
        await settle(pilot, lambda p: p.protocol == "halfblock")
        assert preview.note == "half-blocks: Sixel graphics unavailable (textual-image is not installed)"
        assert "▀" in lines(preview)[0] and preview.info.startswith("16x16 · ")

    run(preview, check, size=(80, 12))


def test_switching_modes_removes_and_releases_the_graphic(tmp_path: Path, fake_stdout) -> None:
    path = two_band_image(tmp_path / "a.png")
    preview = ImagePreview(path, mode="kitty", cache=ThumbnailCache())

    async def check(app, pilot, preview: ImagePreview) -> None:
        await settle(pilot, lambda p: graphic_of(p) is not None)
        await pilot.pause()
        preview.mode = "halfblock"
        await settle(pilot)
        assert graphic_of(preview) is None and "▀" in lines(preview)[0]
        assert ",a=d" in fake_stdout.getvalue() or "a=d," in fake_stdout.getvalue()  # TGP image deleted
        preview.mode = "sixel"
        await settle(pilot, lambda p: graphic_of(p) is not None)
        preview.mode = "off"
        await settle(pilot)
        assert graphic_of(preview) is None and lines(preview)[0].strip() == "preview off (setting)"

    run(preview, check)


def test_auto_is_half_blocks_when_headless_and_asks_detection_otherwise(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(terminal_graphics, "detect_protocol", lambda: "sixel")
    assert ImagePreview(mode="auto").protocol == "sixel"  # not in an app yet: the environment decides
    assert set(MODES) == {"auto", "kitty", "sixel", "halfblock", "off"}
    preview = ImagePreview(two_band_image(tmp_path / "a.png"), mode="auto", cache=ThumbnailCache())

    async def check(app, pilot, preview: ImagePreview) -> None:
        assert preview.protocol == "halfblock" and "▀" in lines(preview)[0]
        assert graphic_of(preview) is None

    run(preview, check)


APP_ON_A_TERMINAL = """
import sys
from textual.app import App
from loratui.tui.widgets.image_preview import ImagePreview
from loratui.tui.services.thumbnails import ThumbnailCache

class PreviewApp(App):
    def compose(self):
        yield ImagePreview(sys.argv[1], mode="auto", cache=ThumbnailCache())

    def on_key(self, event):
        if event.key == "x":
            preview = self.query_one(ImagePreview)
            self.exit(f"{preview.protocol}|{preview.note}|{preview.info}")

result = PreviewApp().run()
open(sys.argv[2], "w").write(str(result))
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize(
    "env, protocol, drawn",
    [
        ({"TERM": "xterm-kitty"}, "kitty", "f=100"),  # the PNG sent with the Kitty graphics protocol
        ({"TERM": "foot"}, "sixel", "\x1bP"),  # a Sixel DCS sequence
        ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, "halfblock", "▀"),
    ],
    ids=["kitty", "foot", "tmux"],
)
def test_auto_on_a_real_terminal_draws_and_never_eats_a_key(tmp_path: Path, env, protocol: str, drawn: str) -> None:
    """The app on a pseudo-terminal: auto picks the protocol, draws, sends no query, and gets the key."""
    pty = pytest.importorskip("pty")
    import fcntl
    import select
    import termios
    import time

    image = two_band_image(tmp_path / "a.png", size=(64, 48))
    script, result = tmp_path / "app.py", tmp_path / "result.txt"
    script.write_text(APP_ON_A_TERMINAL, encoding="utf-8")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 80 * 9, 24 * 18))
    child_env = {k: v for k, v in os.environ.items()
                 if k not in ("PYTEST_CURRENT_TEST", "TMUX", "STY", "ZELLIJ", "LORATUI_GRAPHICS", "TERM_PROGRAM",
                              "KITTY_WINDOW_ID", "KONSOLE_VERSION", "WEZTERM_EXECUTABLE")}
    child_env.update(env)
    proc = subprocess.Popen([sys.executable, str(script), str(image), str(result)], stdin=slave, stdout=slave,
                            stderr=slave, env=child_env, close_fds=True)
    os.close(slave)
    out, pressed = b"", False
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                out += chunk
            if not pressed and drawn in out.decode(errors="replace"):
                os.write(master, b"x")  # only once the image is on the terminal
                pressed = True
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        os.close(master)
    text = out.decode(errors="replace")
    assert pressed, f"nothing drawn with {protocol}: {text[-500:]!r}"
    assert proc.returncode == 0, text[-2000:]
    assert result.read_text(encoding="utf-8") == f"{protocol}|None|64x48 · {image.stat().st_size} B"
    for query in ("a=q", "\x1b[c", "\x1b[16t"):  # textual-image's TGP, DA1 and cell-size queries
        assert query not in text


# ---- ThumbnailCache ----------------------------------------------------------------------------


def test_lru_evicts_the_least_recently_used(tmp_path: Path) -> None:
    a, b, c = (two_band_image(tmp_path / f"{n}.png") for n in "abc")
    cache = ThumbnailCache(max_entries=2)
    cache.get(a, 10, 5)
    cache.get(b, 10, 5)
    cache.get(a, 10, 5)  # a is now the most recent
    cache.get(c, 10, 5)  # evicts b
    assert len(cache) == 2 and (cache.hits, cache.misses) == (1, 3)
    cache.get(a, 10, 5)
    assert cache.hits == 2
    cache.get(b, 10, 5)
    assert cache.misses == 4


def test_hit_on_same_file_miss_after_change(tmp_path: Path) -> None:
    path = two_band_image(tmp_path / "a.png")
    cache = ThumbnailCache()
    first = cache.get(path, 10, 5)
    assert cache.get(path, 10, 5) is first and cache.hits == 1
    assert cache.get(path, 12, 5) is not first  # another size is another entry
    st = path.stat()
    Image.new("RGB", (16, 16), GREEN).save(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    second = cache.get(path, 10, 5)
    assert isinstance(second, Thumbnail) and second is not first
    assert second.pixel(0, 0) == GREEN


def test_errors_never_raise(tmp_path: Path) -> None:
    cache = ThumbnailCache()
    assert cache.get(tmp_path / "missing.png", 10, 5) == ThumbnailError(tmp_path / "missing.png", "file not found")
    assert cache.get(tmp_path, 10, 5).reason == "not a file"
    bomb = cache.get(bomb_png(tmp_path / "bomb.png"), 10, 5)
    assert isinstance(bomb, ThumbnailError) and "too large" in bomb.reason
    truncated_png = tmp_path / "t.png"
    full = two_band_image(tmp_path / "full.png", size=(200, 200))
    truncated_png.write_bytes(full.read_bytes()[:-40])
    result = cache.get(truncated_png, 10, 5)
    assert isinstance(result, ThumbnailError) and "cannot decode" in result.reason


def _pixel(thumb, x=0, y=0):
    assert isinstance(thumb, Thumbnail), thumb
    return thumb.pixel(x, y)


def test_modes_convert_to_rgb(tmp_path: Path) -> None:
    cache = ThumbnailCache()
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(tmp_path / "clear.png")
    assert _pixel(cache.get(tmp_path / "clear.png", 8, 4)) == RED  # the stored colour, as training sees it
    Image.new("LA", (8, 8), (200, 255)).save(tmp_path / "la.png")
    assert _pixel(cache.get(tmp_path / "la.png", 8, 4)) == (200, 200, 200)
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    palette.save(tmp_path / "p.png", transparency=0)
    assert _pixel(cache.get(tmp_path / "p.png", 8, 4)) == GREEN
    Image.new("I;16", (8, 8), 0xFF00).save(tmp_path / "16.png")
    assert _pixel(cache.get(tmp_path / "16.png", 8, 4)) == (254, 254, 254)  # 0xFF00 * 255 / 65535, as training
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    r, g, b = _pixel(cache.get(tmp_path / "cmyk.jpg", 8, 4))
    assert r > 200 and g < 60 and b < 60
    frames = [Image.new("RGB", (8, 8), colour) for colour in (RED, GREEN, BLUE)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    anim = cache.get(tmp_path / "anim.gif", 8, 4)
    assert _pixel(anim)[0] > 200 and anim.frames == 3 and "3 frames" in anim.info


def test_big_jpeg_is_drafted_small(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    Image.new("RGB", (3000, 2000), RED).save(path, quality=80)
    thumb = ThumbnailCache().get(path, 30, 10)
    assert isinstance(thumb, Thumbnail)
    assert (thumb.source_width, thumb.source_height) == (3000, 2000)
    assert thumb.width == 30 and thumb.height == 20
    assert thumb.info.startswith("3000x2000 · ")


def test_widgets_import_neither_pil_nor_numpy() -> None:
    code = (
        "import sys\n"
        "import loratui.tui.widgets.image_table, loratui.tui.widgets.image_preview\n"
        "import loratui.tui.services.thumbnails\n"
        "bad = [m for m in ('PIL', 'numpy', 'torch', 'textual_image') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
