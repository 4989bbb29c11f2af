"""The contract every captioner (wd14, blip, blip2, git) implements for the shared runner.

The runner calls ``prepare`` in decode worker threads (it must be thread-safe and must not touch
the model) and ``run`` on the inference thread with at most ``batch_size`` prepared items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # Pillow is only needed for the type
    from PIL import Image


@runtime_checkable
class Captioner(Protocol):
    name: str  # "wd14", "blip", "blip2", "git"
    batch_size: int  # max items per run() call
    provider: str  # what actually runs, e.g. "CUDAExecutionProvider", "cpu fp32", "cuda:0 bf16"

    def prepare(self, image: "Image.Image") -> Any:
        """Thread-safe; image comes from captioners.images.load_image (RGB or RGBA, 8-bit)."""
        ...

    def run(self, batch: list[Any]) -> list[list[str] | str]:
        """One result per item: ordered tags (wd14) or free text (blip)."""
        ...
