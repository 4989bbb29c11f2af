"""Which new caption files would only caption images sd-scripts cannot load.

A bulk "add a tag" over images that have no caption yet makes one caption file per image. For an
image that cannot be loaded (0 bytes, a corrupt or cut header) that file would only hide the problem
the scan reports, so `loratui tags add` and the app's bulk preview leave such captions out and name
the images. Only the images that would get a new caption are probed, by their headers (the scan's
check), so a captioned dataset of thousands costs nothing more.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path


def captions_of_unreadable_images(pairs: Iterable[tuple[Path, Path]],
                                  new_files: Collection[Path]) -> dict[Path, list[Path]]:
    """Of the caption files in ``new_files``, those none of whose images can be loaded, each with its
    images (``pairs``: (image, caption file), in the dataset's order). a.png and a.jpg share a.txt:
    one readable image is enough to keep the caption, and then the others are not probed."""
    from loratui.core import dataset  # the public face's unreadable_reason, looked up now (tests count probes)

    wanted = {Path(p) for p in new_files}
    readable: set[Path] = set()
    broken: dict[Path, list[Path]] = {}
    for image, caption in pairs:
        caption = Path(caption)
        if caption not in wanted or caption in readable:
            continue
        if dataset.unreadable_reason(image) is None:
            readable.add(caption)
            broken.pop(caption, None)
        else:
            broken.setdefault(caption, []).append(Path(image))
    return dict(sorted(broken.items()))
