"""What `loratui steps` says about what the count leaves out (folders, images), in the scan's own words.

The folders counted are the scan's subsets (core.dataset.concept_folders picks them as sd-scripts
does); every entry of the train/reg folders that trains nothing is named with the scan's reason, and
when no training image is left the error gives the real reason instead of a generic one.
"""

from __future__ import annotations

from loratui.core.termline import shell_arg

SHOWN_FOLDERS = 8  # `steps` lists this many left-out folders, then "... and N more"


def left_out_folders(scan) -> list[str]:
    """One line per train/reg entry that trains nothing (the scan's message: name and why)."""
    return [p.message for p in getattr(scan, "skipped_folders", [])]


def no_training_images_reason(scan) -> str | None:
    """Why no training image is left when train folders were left out: the first one's reason, how
    many more, and the command that lists them (None when no train folder was left out)."""
    root = scan.train_data_dir
    skipped = sorted((p for p in getattr(scan, "skipped_folders", []) if p.path == root or p.path.parent == root),
                     key=lambda p: p.severity == "info")  # a hidden folder is the likely reason only when alone
    if not skipped:
        return None
    first = "the first: " if len(skipped) > 1 else ""
    return (f"no training images found under {root}: {len(skipped)} folder(s) left out, {first}"
            f"{skipped[0].message}; `{scan_command(scan)}` lists them")


def all_left_out(scan) -> str | None:
    """When the training images are all left out (unreadable, truncated, ...): the error naming the first."""
    if scan.num_train_images:
        return None
    left_out = [p for p in scan.left_out if not any(s.is_reg and p.path.parent == s.path for s in scan.subsets)]
    if not left_out:
        return None
    return (f"no usable training images under {scan.train_data_dir}: all {len(left_out)} are left out (first: "
            f"{left_out[0].message}); `{scan_command(scan)}` lists them")


def scan_notes(scan) -> list[str]:
    """The notes `loratui steps` and the Settings step calculator add from the scan, in this order: one
    place, so the two always say the same."""
    return [note for note in (scan_error_note(scan), no_reg_note(scan)) if note]


def no_reg_note(scan) -> str | None:
    """A reg_data_dir that gives no regularisation image at all (`reg/3_r`: one concept folder, not the
    folder holding it) would otherwise leave no reg line and no word on why."""
    from loratui.core.dataset import reg_dir_hint

    reg = scan.reg_data_dir
    if reg is None or scan.reg_only or any(s.is_reg and s.images for s in scan.subsets):
        return None
    why = reg_dir_hint(reg) or f"; `loratui dataset scan {scan.train_data_dir} --reg {reg}` says why"
    return f"reg_data_dir {reg}: no regularisation images are counted{why}"


def scan_error_note(scan) -> str | None:
    """The steps note on the scan's errors, true to what is counted (None without errors).

    An image the scan leaves out (unreadable, truncated, a folder with absurd repeats) is not in
    the counts, and neither sd-scripts nor loratui trains it. An image whose *caption* has an error
    (0 bytes, not UTF-8, unreadable) is counted: loratui's trainer trains it with a warning, while
    sd-scripts stops at that file, so the numbers hold only once it is fixed.
    """
    errors = [p for p in scan.problems if p.severity == "error"]
    if not errors:
        return None
    left_out = [p for p in errors if p.kind in _NOT_COUNTED]
    folders = [p for p in errors if p.kind == "too_many_repeats"]
    captions = [p for p in errors if p.kind in _CAPTION_ERRORS]
    others = len(errors) - len(left_out) - len(folders) - len(captions)
    parts = []
    if left_out:
        parts.append(f"{len(left_out)} image(s) left out (not counted)")
    if folders:
        parts.append(f"{len(folders)} folder(s) left out (not counted)")
    if captions:
        parts.append(f"{len(captions)} caption file(s) with errors: those images are counted, but sd-scripts stops at "
                     "such a file (loratui trains it with a warning), so fix them first")
    if others:
        parts.append(f"{others} other error(s)")
    return (f"the dataset scan found {len(errors)} error(s) (first: {errors[0].message}): {'; '.join(parts)}; "
            f"`{scan_command(scan)}` lists them")


def scan_command(scan) -> str:
    """The `loratui dataset scan` command that lists this scan's problems: its reg folder and caption
    extension too (without them the command lists fewer problems than were counted)."""
    parts = ["loratui dataset scan", shell_arg(scan.train_data_dir)]
    if scan.reg_data_dir is not None:
        parts += ["--reg", shell_arg(scan.reg_data_dir)]
    if scan.caption_extension != ".txt":
        parts += ["--caption-extension", shell_arg(scan.caption_extension)]
    return " ".join(parts)


# Problem kinds of images left out of the scan's subsets, and of a caption whose image is counted.
_NOT_COUNTED = frozenset({"unreadable_image", "unsupported_image", "not_a_file"})
_CAPTION_ERRORS = frozenset({"empty_caption", "caption_not_utf8", "unreadable_caption"})
