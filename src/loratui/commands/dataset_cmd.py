"""`loratui dataset scan|init|balance`: kohya-style dataset folders from the command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from loratui.commands.config_beside import with_config_beside as _with_config_beside
from loratui.commands.dataset_init_notes import name_left_behind, source_subfolders
from loratui.commands.help_text import exit_codes, shell_arg
from loratui.commands.term_text import cells, pad

SHOWN_PER_KIND = 5


def _locate(directory: Path, caption_extension: str | None = None):
    """(the dataset DIR names, the caption extension to use): a folder is read as every command reads it
    (core.dataset.locate_dataset); a config .toml names its train_data_dir and reg_data_dir, and its
    caption_extension is the default (an explicit --caption-extension wins; else .txt)."""
    from loratui.core.dataset import caption_extension_option, locate_config, locate_dataset

    from_config = None
    if directory.suffix.lower() == ".toml" and directory.is_file():
        location, from_config = locate_config(directory)
    else:
        location, from_config = _with_config_beside(directory, locate_dataset(directory))[:2]
    return location, caption_extension_option(caption_extension if caption_extension is not None else
                                              from_config or ".txt")


def _only_concept(result, concept_dir: Path):
    """The scan narrowed to one concept folder (its row and its problems): `dataset scan DIR/10_x`."""
    from dataclasses import replace

    def inside(path: Path) -> bool:
        return path == concept_dir or path.is_relative_to(concept_dir)

    return replace(result, subsets=[s for s in result.subsets if s.path == concept_dir],
                   problems=[p for p in result.problems if inside(p.path)])


def token_limit_options(func):
    """--max-token-length and --config: the caption token limit the long-caption check uses
    (`dataset scan` and `tags check` alike). Without either, the max_token_length of the config the app
    opens on DIR (a config DIR: its own), else 75: what sd-scripts reads when max_token_length is unset."""
    import functools

    @click.option("--max-token-length", "max_token_length", type=click.Choice(["75", "150", "225"]), default=None,
                  help="The training's max_token_length: captions over it are named as cut off (default: "
                       "--config's, else the config beside DIR's, else 75, what sd-scripts reads when "
                       "max_token_length is unset).")
    @click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), metavar="CONFIG",
                  help="A loratui config: its training.max_token_length is the caption token limit.")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if kwargs.get("max_token_length") is None and kwargs.get("config_path") is None:
            beside = _token_limit_beside(kwargs.get("directory"))
            if beside is not None:  # the limit the app checks this dataset against: the two agree
                kwargs["max_token_length"] = str(beside)
        return func(*args, **kwargs)
    return wrapper


def _token_limit_beside(directory: Path | None) -> int | None:
    """The max_token_length of the config the app opens on DIR (DIR itself when it is a config .toml); None
    without one, or when it cannot be read (the check's default then; the command names a bad DIR)."""
    from loratui.core.dataset import config_token_limit, locate_dataset
    from loratui.core.errors import LoratuiError

    if directory is None:
        return None
    if directory.suffix.lower() == ".toml" and directory.is_file():
        return config_token_limit(directory)
    from loratui.commands.config_beside import config_beside

    try:
        return config_token_limit(config_beside(directory, locate_dataset(directory)))
    except (LoratuiError, OSError):
        return None


def token_limit(max_token_length: str | None, config_path: Path | None) -> int | None:
    """The caption token limit the options ask for (None: no config known, the check's default: 75)."""
    if max_token_length is not None:
        return int(max_token_length)
    if config_path is None:
        return None
    from loratui.core.config import load_config

    return int(load_config(config_path).training.max_token_length)  # a bad config: its one-line error


def _interactive() -> bool:
    """Can we ask a question? Only with stdin and stdout terminals (a pipe or a script must pass --yes)."""
    from loratui.commands.options import stdio_is_terminal

    return stdio_is_terminal()


@click.group()
@exit_codes((0, "done (scan: no errors; warnings are fine)"), (1, "scan found errors"),
            (2, "bad input (nothing changed; balance off a terminal without --yes)"), (130, "interrupted"))
def dataset() -> None:
    """Scan, lay out and balance kohya-style datasets.

    A train folder holds concept folders named `N_tokens`: N is how many times each image is
    repeated per epoch, the rest are the class tokens used when an image has no caption.
    DIR may also be a project folder made by `loratui dataset init` (its img/, and the reg folder
    its config's reg_data_dir names, as training reads it; without a config, its reg/) or one
    concept folder (scan shows that concept; balance works on its train folder), as for
    every command that takes a dataset, or a loratui config .toml (its train_data_dir and
    reg_data_dir; its caption_extension unless --caption-extension is given).
    """


@dataset.command("scan")
@exit_codes((0, "no errors (warnings are fine)"),
            (1, "at least one error (unreadable images or folders, empty or non-UTF-8 captions, no concept "
                "folders): the rest is still scanned and listed"),
            (2, "bad input: no such folder, a bad option"), (130, "interrupted"))
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--reg", "reg", type=click.Path(path_type=Path), help="Regularization folder (same N_name layout).")
@click.option("--caption-extension", default=None, metavar="EXT",
              help="Extension of caption files (default: a config DIR's caption_extension, else .txt).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (every problem listed).")
@click.option("--all", "show_all", is_flag=True, help=f"List every problem, not only {SHOWN_PER_KIND} per kind.")
@token_limit_options
def scan(directory: Path, reg: Path | None, caption_extension: str | None, as_json: bool, show_all: bool,
         max_token_length: str | None, config_path: Path | None) -> None:
    """Summarise each concept folder and list dataset problems, the way sd-scripts will see them."""
    from loratui.core.dataset import scan_dataset

    from loratui.core.errors import LoratuiError

    max_tokens = token_limit(max_token_length, config_path)
    location, caption_extension = _locate(directory, caption_extension)
    if reg is not None and reg.is_dir() and os.path.realpath(reg) == os.path.realpath(location.train_dir):
        raise LoratuiError(f"--reg {reg}: is the training images folder too: regularisation images need a folder "
                           "of their own (e.g. reg/ beside img/)")
    result = scan_dataset(location.train_dir, reg if reg is not None else location.reg_dir,
                          caption_extension, max_tokens=max_tokens, unreadable_as_problem=True)
    if location.concept:
        result = _only_concept(result, location.images_dir)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from loratui.core.dataset import shown_name

        _print_summary(result, show_all, f"concept: {shown_name(location.concept)} only" if location.concept else "")
    if result.has_errors:
        raise SystemExit(1)


def _print_summary(result, show_all: bool, note: str = "") -> None:
    # names as the problem lines show them (core.dataset.shown_name): a plain one as it is, one with a control
    # character or a byte that is not UTF-8 quoted and escaped, so a table row stays one row
    from loratui.core.dataset import shown_name

    if result.reg_only:  # a reg folder on its own: nothing here trains by itself
        click.echo(f"reg:   {shown_name(str(result.reg_data_dir))} (regularisation images, scanned on their own)")
    else:
        click.echo(f"train: {shown_name(str(result.train_data_dir))}")
    if note:
        click.echo(note)
    if result.reg_data_dir and not result.reg_only:
        click.echo(f"reg:   {shown_name(str(result.reg_data_dir))}")
    rows = [
        ("reg" if s.is_reg else "train", shown_name(s.name), str(s.repeats), str(s.num_images), str(s.num_captioned),
         str(s.samples))
        for s in result.subsets
    ]
    header = ("KIND", "FOLDER", "REPEATS", "IMAGES", "CAPTIONED", "SAMPLES")
    if rows:
        widths = [max(cells(r[i]) for r in (header, *rows)) for i in range(len(header))]
        click.echo()
        for row in (header, *rows):
            numbers = [pad(c, w, right=True) for c, w in zip(row[2:], widths[2:])]
            line = [pad(row[0], widths[0]), pad(row[1], widths[1]), *numbers]
            click.echo("  ".join(line).rstrip())
    click.echo()
    if result.reg_only:
        click.echo(f"{result.num_reg_images} regularisation image(s): each epoch sd-scripts repeats or cuts them to "
                   "as many samples as the training images give (their repeats only set the mix)")
    else:
        click.echo(
            f"{result.num_train_images} training image(s), {result.train_samples_per_epoch} samples per epoch "
            f"(before batching)"
        )
    print_problems(result.problems, show_all)


def print_problems(problems, show_all: bool) -> None:
    """The count line, then the problems grouped by level and kind (each group adds up to its count).
    `dataset scan` and `tags check` print their problems with this."""
    from loratui.core.dataset import count_line, group_by_level

    if not problems:
        click.echo("no problems found")
        return
    click.echo(count_line(problems))
    for (severity, kind), group in group_by_level(problems).items():
        click.echo()
        click.echo(f"{severity} {kind} ({len(group)}):")
        shown = group if show_all else group[:SHOWN_PER_KIND]
        for problem in shown:
            click.echo(f"  {problem.message}")
        if len(shown) < len(group):
            click.echo(f"  ... and {len(group) - len(shown)} more (--all to list them)")


@dataset.command("init")
@exit_codes((0, "done"),
            (2, "bad input, nothing copied: a file already there (never overwritten), --repeats below 1, --images "
                "without images, ..."),
            (130, "interrupted"))
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--concept", required=True, help="Concept name (trigger word), e.g. 'sks'.")
@click.option("--repeats", required=True, type=int, metavar="N", help="Repeats per epoch for this concept (>= 1).")
@click.option("--class-tokens", default=None, help="Class words appended to the folder name, e.g. 'dog' -> 10_sks dog.")
@click.option("--images", "images_src", type=click.Path(path_type=Path),
              help="Folder whose images (and their caption files) are brought into the concept folder.")
@click.option("--link", "link", is_flag=True,
              help="Symlink the images instead of copying them. Captions are always copied, so editing them "
                   "in the project never changes SRC.")
@click.option("--hardlink", is_flag=True,
              help="Hard-link the images instead of copying them (same file system). Captions are always copied.")
@click.option("--caption-extension", default=".txt", show_default=True, help="Extension of caption files to bring along.")
def init(
    directory: Path,
    concept: str,
    repeats: int,
    class_tokens: str | None,
    images_src: Path | None,
    link: bool,
    hardlink: bool,
    caption_extension: str,
) -> None:
    """Lay out a new project: DIR/img/N_CONCEPT, DIR/reg (regularization images) and DIR/model (output).

    Existing folders are kept; an existing file is never overwritten (the command stops before
    copying anything). With --link or --hardlink only the images are linked: the caption files are
    copied, since they are what you edit in the project. Images sd-scripts does not train (AVIF,
    GIF, TIFF, JXL, a JPEG named .jfif or .jpe, ...) are left in SRC, with their captions, and named; so
    are captions with the other usual extension (h.caption when --caption-extension is .txt) or another case
    of it (h.TXT), SRC's subfolders
    (sd-scripts reads only the images directly in a concept folder), its hidden images and captions
    (.x.png: sd-scripts never reads them) and its broken links. A file named like an image
    that is not one (a text file named .png) is brought in and named: replace or delete it before
    training. No config file is written: use `loratui config` for that.
    """
    from loratui.core.dataset import caption_extension_option, init_project
    from loratui.core.errors import LoratuiError

    if link and hardlink:
        raise LoratuiError("choose one of --link and --hardlink")
    if (link or hardlink) and images_src is None:
        raise LoratuiError("--link/--hardlink need --images SRC")
    mode = "symlink" if link else "hardlink" if hardlink else "copy"
    # listed before init makes img/ reg/ model/, which would read as SRC's own when SRC is the project
    subfolders = source_subfolders(images_src, directory) if images_src is not None else []
    result = init_project(
        directory,
        concept,
        repeats,
        images_src,
        class_tokens=class_tokens,
        mode=mode,
        caption_extension=caption_extension_option(caption_extension),
    )
    for folder in result.created_dirs:
        click.echo(f"created {folder}/")
    for folder in result.existing_dirs:
        click.echo(f"exists  {folder}/")
    if images_src is not None:
        if mode == "copy":
            brought = f"copied {len(result.images)} image(s) and {len(result.captions)} caption(s)"
        else:
            verb = {"symlink": "linked", "hardlink": "hard-linked"}[mode]
            brought = f"{verb} {len(result.images)} image(s), copied {len(result.captions)} caption(s)"
        click.echo(f"{brought} into {result.concept_dir}/")
        if result.skipped_images:
            captions = f" and their {len(result.skipped_captions)} caption(s)" if result.skipped_captions else ""
            click.echo(f"skipped {len(result.skipped_images)} image(s) sd-scripts does not train "
                       f"({', '.join(result.skipped_formats)}){captions}: convert them to PNG{result.jpeg_note}, then "
                       f"copy them from {images_src}/ into {result.concept_dir}/")
        name_left_behind(images_src, result, subfolders)
    click.echo(f"next: loratui dataset scan {shell_arg(result.project_dir)}")


@dataset.command("balance")
@exit_codes((0, "done: renamed (or renamed back), a dry run, already balanced, or not confirmed"),
            (2, "nothing renamed: bad input (no concept folder with images, a new name already taken, a folder "
                "not writable, no balance to undo), a full disk (the undo record cannot be written), or not a terminal without --yes or --dry-run"),
            (130, "interrupted"))
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--target", type=int, default=None, metavar="N",
              help="Samples per epoch wanted for each concept (default: the largest concept's current samples).")
@click.option("--caption-extension", default=None, metavar="EXT",
              help="Extension of caption files (default: a config DIR's caption_extension, else .txt).")
@click.option("--undo", is_flag=True,
              help="Rename the folders of the last balance back (as ctrl+z in the app does); refused when "
                   "the folders changed since.")
@click.option("--dry-run", is_flag=True, help="Only show the plan.")
@click.option("--yes", "-y", is_flag=True, help="Rename without asking.")
def balance(directory: Path, target: int | None, caption_extension: str | None, undo: bool, dry_run: bool,
            yes: bool) -> None:
    """Propose repeats so each concept gives about the same samples per epoch (repeats x images).

    Shows the plan as folder renames (`10_a -> 4_a`), asks, then renames. Nothing is overwritten:
    if a new name is taken, nothing is renamed. Reg folders are not touched (sd-scripts pads or cuts
    reg images to the train samples' count: the total names that fill), and DIR may not be one.
    --undo renames the last balance's folders back, from a shell or after the app closed.
    """
    from loratui.core.captions import newest_entry_name
    from loratui.core.dataset import balance_plan, balance_target, nothing_to_balance_line, record_and_rename
    from loratui.core.dataset import plan_conflicts, reg_balance_refusal, samples_change_line, scan_dataset
    from loratui.core.errors import LoratuiError

    location, caption_extension = _locate(directory, caption_extension)
    if location.is_reg:
        raise LoratuiError(reg_balance_refusal(location.train_dir, location.reg_of))
    train_dir = location.train_dir
    if undo:
        if target is not None:
            raise LoratuiError("--undo renames the last balance back: it takes no --target")
        _undo_balance(train_dir, dry_run, yes, lambda: _live_run_warning(directory, location))
        return
    # the reg folder too: its images double every epoch's samples, which the total line says; a concept
    # folder that cannot be read stops it (its repeats and images are unknown): its one line, exit 2
    result = scan_dataset(train_dir, location.reg_dir, caption_extension)
    concepts = [s for s in result.train_subsets if s.images]
    if not concepts:
        raise LoratuiError(nothing_to_balance_line(result))
    goal = target if target is not None else balance_target(result)
    plan = balance_plan(result, goal)
    changes = {r.source: r for r in plan}

    click.echo(f"target: about {goal} samples per epoch per concept")
    from loratui.commands.term_text import shown_name  # a control character in a folder name: escaped

    labels = {s.path: shown_name(str(changes[s.path]) if s.path in changes else s.name) for s in concepts}
    width = max(cells(label) for label in labels.values())
    for subset in concepts:
        rename = changes.get(subset.path)
        label = pad(labels[subset.path], width)
        if rename is None:
            click.echo(f"  {label}   unchanged: {subset.repeats} x {subset.num_images} = {subset.samples}")
        else:
            click.echo(
                f"  {label}   {rename.old_repeats} x {rename.images} = {rename.old_samples}"
                f"  ->  {rename.new_repeats} x {rename.images} = {rename.new_samples}"
            )
    before = sum(s.samples for s in concepts)
    after = before + sum(r.new_samples - r.old_samples for r in plan)
    click.echo(samples_change_line(result, before, after))
    if not plan:
        click.echo("already balanced: nothing to rename")
        return
    conflicts = plan_conflicts(plan)
    if conflicts:
        raise LoratuiError(conflicts[0])
    live = _live_run_warning(directory, location)
    if not _confirmed(f"Rename {len(plan)} folder(s){_while_live(live)}?", dry_run, yes):
        return
    # recorded first, so `--undo` and the app's ctrl+z can always rename them back: a record that cannot be
    # written (a full disk) refuses in one line naming the file and the free space, before any folder moves
    record_and_rename(train_dir, plan, newest_entry_name(train_dir))  # renames all or nothing
    try:
        _follow_renames(plan, f"renamed {len(plan)} folder(s)")  # undo still finds the captions
    except KeyboardInterrupt as exc:  # held until the journal followed (journal_renames): the folders stay renamed
        said = str(exc) if exc.args else "interrupted"
        raise KeyboardInterrupt(f"{said}; `loratui dataset balance {shell_arg(directory)} --undo` renames them "
                                "back") from None
    click.echo(f"renamed {len(plan)} folder(s): `loratui dataset balance {shell_arg(directory)} --undo` (or ctrl+z "
               "on the app's Dataset screen, while no caption change comes after) renames them back")


def _live_run_warning(directory: Path, location):
    """The training run live on the config beside DIR (DIR itself, a .toml; the project's, for its img/) that
    trains from its train folder: said on stderr before anything is renamed (h14: a balance during a run
    stopped an uncached run without a word), and returned for the question; None when there is none. Never
    stops the balance."""
    from loratui.commands.config_beside import config_beside
    from loratui.core.project import live_run_on, project_config

    try:
        if directory.suffix.lower() == ".toml" and directory.is_file():
            config = directory
        else:
            config = config_beside(directory, location) or project_config(location.train_dir)
        run = live_run_on(config, location.train_dir)
    except Exception:  # noqa: BLE001 - only a warning: the balance itself does not depend on it
        return None
    if run is not None:
        click.echo(f"warning: {run.balance_warning()}", err=True)
    return run


def _while_live(run) -> str:
    """" while training run NAME (pid N) trains from them" for the question, "" without a live run."""
    return f" while training run {run.name} (pid {run.pid}) trains from them" if run is not None else ""


def _confirmed(question: str, dry_run: bool, yes: bool) -> bool:
    """Whether to rename now: not on a dry run (said), --yes, or a yes typed at a terminal."""
    from loratui.core.errors import LoratuiError

    if dry_run:
        click.echo("dry run: nothing renamed")
        return False
    if not yes and not _interactive():
        raise LoratuiError("not a terminal, so nothing was renamed: pass --yes to rename or --dry-run")
    if not yes and not click.confirm(question, default=False):
        click.echo("nothing renamed")
        return False
    return True


def _follow_renames(renames, done: str) -> None:
    """Rename the folders in the undo journals too; the folders are renamed already, so a failure here
    says so (on stderr) instead of ending in an error that hides it."""
    from loratui.core.captions import follow_folder_renames
    from loratui.core.errors import LoratuiError

    try:
        follow_folder_renames((rename.source, rename.dest) for rename in renames)
    except (LoratuiError, OSError) as exc:
        click.echo(f"{done}, but the undo journal could not follow: {exc} (the next `loratui tags` command or "
                   "undo there brings the journal up to date)", err=True)


def _undo_balance(train_dir: Path, dry_run: bool, yes: bool, live_run_warning=lambda: None) -> None:
    """`balance --undo`: the recorded balance renamed back (all or nothing), while its folders still hold
    the names it gave them and no caption change came after it (the app's ctrl+z undoes that change first:
    so does this, by refusing until `loratui tags undo` has); one line saying why not otherwise."""
    from loratui.commands.term_text import shown_name
    from loratui.core.captions import newest_entry_name
    from loratui.core.dataset import forget_balance, last_balance, no_balance_undo_line, undo_balance
    from loratui.core.errors import LoratuiError

    found = last_balance(train_dir)
    if found is None:
        raise LoratuiError(no_balance_undo_line(train_dir))
    plan, after_entry = found
    newest = newest_entry_name(train_dir)
    if newest != after_entry:
        raise LoratuiError(f"{train_dir}: captions were changed after the last balance (undo journal entry {newest}); "
                           f"nothing was renamed: undo those changes first (`loratui tags undo {shell_arg(train_dir)}`, "
                           "or ctrl+z in the app), then run this again")
    click.echo(f"undo the last balance of {train_dir}:")
    for rename in plan:
        click.echo(f"  {shown_name(f'{rename.dest.name} -> {rename.source.name}')}")
    live = live_run_warning()  # a run training from these folders: said, and named in the question
    if not _confirmed(f"Rename {len(plan)} folder(s) back{_while_live(live)}?", dry_run, yes):
        return
    back = undo_balance(plan)  # all or nothing, under the train folder's write lock
    forget_balance(train_dir)
    _follow_renames(back, "renamed back")
    click.echo(f"renamed {len(back)} folder(s) back")
