"""The reg images a caption run leaves out, named once. `loratui caption ... PROJECT` captions the train
images only: kohya users rarely caption class images (sd-scripts trains an uncaptioned one on its folder's
class word), so that stays the default; but a run that says nothing leaves a user wondering why the reg
rows stay uncaptioned. The reg folder is the one every command reads (commands/config_beside.py): the
config's reg_data_dir ("" = none), else a project's reg/. The CLI says it on stderr and puts it in its
``started`` event (``reg_left_out``); the app's Caption screen words that field with ``reg_note``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RegLeftOut:
    reg_dir: Path
    images: int
    without_caption: int

    def as_event(self) -> dict:
        """The ``started`` event's ``reg_left_out`` field (commands/caption_cmd.py's schema)."""
        return {"reg_dir": str(self.reg_dir), "images": self.images, "without_caption": self.without_caption}


def reg_left_out(dataset_dir, recursive: bool, extension: str) -> RegLeftOut | None:
    """The reg images a run on DATASET_DIR does not caption, or None: none, or DATASET_DIR is not a
    project or train folder (a reg folder is captioned itself; one concept folder leaves out every other
    folder alike). ``extension``: the run's caption extension (counts those without a caption)."""
    from loratui.captioners.existing_captions import run_images
    from loratui.captioners.output import plan
    from loratui.commands.config_beside import with_config_beside
    from loratui.core.dataset import locate_dataset
    from loratui.core.errors import LoratuiError

    try:
        location = locate_dataset(dataset_dir)
        if location.kind not in ("project", "dataset"):
            return None
        reg = with_config_beside(Path(dataset_dir), location, say=False).location.reg_dir
        if reg is None or not Path(reg).is_dir():
            return None
        inside, run_dir = os.path.realpath(reg) + os.sep, os.path.realpath(location.images_dir) + os.sep
        if run_dir.startswith(inside) or recursive and inside.startswith(run_dir):
            return None  # the run is the reg folder's own, or --recursive captions it (a reg folder in the train one)
        images = run_images(reg, False)  # what `loratui caption ... REG_DIR` captions
        todo, _ = plan(images, extension, "skip")
    except (LoratuiError, OSError):
        return None  # a folder that cannot be read: `dataset scan` names it; a note never stops a caption run
    return RegLeftOut(Path(reg), len(images), len(todo)) if images else None


def reg_note(command: str, left_out: object, *, relative: bool = True) -> str | None:
    """One line on the reg images a run leaves out and how to caption them: ``command`` is the
    subcommand (wd14, blip), ``left_out`` the ``started`` event's ``reg_left_out`` (None, or an event
    of another version: no line). The folder as a shell takes it: ``relative``, to the current folder
    when below it (the CLI's reader types there), else absolute (the app's reader types elsewhere)."""
    from loratui.core.termline import escape_controls, shell_arg, shell_path

    if not isinstance(left_out, dict):
        return None
    folder, images, bare = left_out.get("reg_dir"), left_out.get("images"), left_out.get("without_caption")
    if not isinstance(folder, str) or not folder or not isinstance(images, int) or images < 1:
        return None
    had = ""
    if isinstance(bare, int) and not isinstance(bare, bool) and 0 <= bare <= images:
        had = " (all have a caption)" if bare == 0 else " (none has a caption)" if bare == images else \
            f" ({bare} {'has' if bare == 1 else 'have'} no caption)"
    # one line whatever the name holds: a control character is escaped (the shell word stays pasteable otherwise)
    word = escape_controls(shell_path(folder, folder=True) if relative else shell_arg(folder))
    return (f"{images} reg image(s) in {word} are not captioned by this run{had}: to caption them, run "
            f"loratui caption {command} {word} with the same options")
