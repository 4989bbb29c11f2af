"""ImagePreview (half-block rendering, errors, mode off) and ThumbnailCache (decoding, LRU, invalidation)."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image
from textual.app import App, ComposeResult

from loratui.tui.services.thumbnails import NEUTRAL_GREY, Thumbnail, ThumbnailCache, ThumbnailError
from loratui.tui.widgets.image_preview import ImagePreview

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


async def settle(pilot) -> None:
    """Until the preview has no decode in flight (its worker may start only after a resize)."""
    for _ in range(200):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not pilot.app.query_one(ImagePreview).is_loading:
            return
    raise AssertionError("the preview never finished loading")


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
    assert _pixel(cache.get(tmp_path / "clear.png", 8, 4)) == NEUTRAL_GREY
    Image.new("LA", (8, 8), (200, 255)).save(tmp_path / "la.png")
    assert _pixel(cache.get(tmp_path / "la.png", 8, 4)) == (200, 200, 200)
    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    palette.save(tmp_path / "p.png", transparency=0)
    assert _pixel(cache.get(tmp_path / "p.png", 8, 4)) == GREEN
    Image.new("I;16", (8, 8), 0xFF00).save(tmp_path / "16.png")
    assert _pixel(cache.get(tmp_path / "16.png", 8, 4)) == (255, 255, 255)
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
        "bad = [m for m in ('PIL', 'numpy', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
