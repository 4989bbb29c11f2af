"""`loratui [PATH]`: decide what PATH names and start the app. Bad input is one line, exit 2."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from loratui.core.errors import LoratuiError
from loratui.core.termline import shell_arg, shell_path


def resolve_target(target: str | os.PathLike, notes: list[str] | None = None) -> tuple[object, Path | None]:
    """(DatasetLocation, config path or None) for a project, dataset or concept folder, or a config.
    ``notes`` gets what the app should say as it opens (a config opened despite its problems)."""
    from loratui.core.dataset import locate_dataset

    path = Path(target)
    if not path.exists():
        raise LoratuiError(f"{path}: no such file or folder (give a project, dataset or concept folder, or a config .toml)")
    if path.is_file():
        if path.suffix.lower() == ".json":
            raise LoratuiError(_json_target_line(path))
        if path.suffix.lower() != ".toml":
            raise LoratuiError(f"{path}: not a folder or a config .toml: open a project, dataset or concept folder")
        from loratui.core.config import ConfigError, load_config, resolve_path
        from loratui.core.project import is_tag_recipe

        if is_tag_recipe(path):
            raise LoratuiError(f"{path}: a tag recipe ([[op]] tables), not a config: open the project folder "
                               f"(`loratui {shell_arg(path.parent)}`), or apply it with "
                               f"`loratui tags apply DATASET {shell_arg(path)}`")
        try:
            cfg = load_config(path)
            train_dir = cfg.dataset.train_data_dir
            train = Path(resolve_path(cfg, train_dir, key="train_data_dir")) if train_dir else None
        except ConfigError as exc:
            if getattr(exc, "foreign", None):  # sd-scripts' own file: its one line says what to open instead
                raise
            # a config the app can fix (an unknown key, a bad value): open on its dataset all the same,
            # and Settings shows the problems; only one whose dataset cannot be told is refused
            train_dir = _raw_train_dir(path)
            if not train_dir:
                raise
            train = (path.parent / Path(os.path.expanduser(train_dir))).resolve()
            if notes is not None:
                more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
                notes.append(f"{exc.problems[0] if exc.problems else exc}{more}; Settings "
                             f"({bound_key_words('app.settings')}) says how to fix it")
        if not train_dir:
            raise LoratuiError(f"{path}: dataset.train_data_dir is not set: set it to the folder with the N_concept folders")
        if not train.is_dir():
            raise LoratuiError(f"{path}: dataset.train_data_dir = {train_dir!r}: {train} is not a "
                               "folder; set it to the folder with the N_concept folders")
        location = locate_dataset(train)
        return location, path
    from loratui.core.project import folder_configs

    location = locate_dataset(path)
    # the pick is core's (sd-scripts' files and tag recipes are no loratui config); what to say of it, here
    found = folder_configs(location)
    base, tomls, config = found.base, found.configs, found.config
    if base is not None:
        if len(tomls) > 1 and notes is not None:
            shown = ", ".join(p.name for p in tomls[:4]) + (" ..." if len(tomls) > 4 else "")
            notes.append(f"{len(tomls)} .toml files in {base} ({shown}): "
                         + (f"opened {config.name}; " if config else "no config opened; ")
                         + f"`loratui NAME.toml` opens another (Settings: {bound_key_words('settings.open')})")
        if not tomls and notes is not None:
            kohya = next((json_path for json_path in sorted(base.glob("*.json"))[:_JSON_LOOKS]
                          if is_kohya_gui_json(json_path)), None)
            refused = found.refused
            if kohya is not None:
                notes.append(f"no loratui config here, but {kohya.name} is a kohya_ss GUI config: "
                             f"`{_import_command(kohya)}` imports it, then `loratui {shell_arg(_free_toml(kohya))}`")
            elif refused:  # only sd-scripts' own files: say what the first is and how it comes in
                notes.append(f"no config opened: {refused[0]}")
    return location, config


def bound_key_words(binding_id: str) -> str:
    """The key keymap.toml binds to ``binding_id`` (else its default), said in a note written before the app
    exists (resolve_target): the user's keymap file read with services/keymap.py; an action the keymap left
    without a key is named by its palette command. Only called for a note: no textual import otherwise."""
    from loratui.tui.services.keymap import class_bindings, key_in, load_keymap

    keymap, _problems = load_keymap()  # the app names the keymap's problems itself as it opens
    if binding_id.startswith("app."):
        from loratui.tui.app import LoratuiApp, screen_command_title

        node, title = LoratuiApp, screen_command_title(binding_id.removeprefix("app."))
    else:
        from loratui.tui.screens.settings import SettingsScreen
        from loratui.tui.screens.settings_texts import PALETTE

        node, title = SettingsScreen, next((t for t, bid, *_ in PALETTE if bid == binding_id), binding_id)
    return key_in(class_bindings(node), keymap, binding_id) or f"'{title}' (ctrl+p)"


_JSON_LOOKS = 20  # .json files read when looking for a kohya_ss config beside the dataset
_JSON_MAX_BYTES = 4 << 20  # a GUI config is a few KB; a large .json is something else (no reading it)
_KOHYA_KEYS = frozenset({"pretrained_model_name_or_path", "train_data_dir", "LoRA_type", "output_name"})


def is_kohya_gui_json(path: Path) -> bool:
    """A kohya_ss GUI config, by its keys (cheap: small files only; any problem reads as 'no')."""
    import json

    try:
        if path.stat().st_size > _JSON_MAX_BYTES:
            return False
        raw = path.read_bytes()
    except OSError:
        return False
    for encoding in ("utf-8-sig", "utf-16", "utf-32"):  # as kohya_ss or a Windows editor saves it
        try:
            data = json.loads(raw.decode(encoding))
        except (UnicodeDecodeError, ValueError):
            continue
        return isinstance(data, dict) and len(_KOHYA_KEYS & data.keys()) >= 2
    return False


def _json_target_line(path: Path) -> str:
    """`loratui alice.json`: the one line that says how a kohya_ss GUI config becomes a loratui one."""
    command = _import_command(path)
    opens = f"then `loratui {shell_arg(_free_toml(path))}`"
    if is_kohya_gui_json(path):
        return f"{path}: a kohya_ss GUI config, not a loratui one: import it with `{command}`, {opens}"
    return (f"{path}: not a folder or a config .toml: open a project, dataset or concept folder (a kohya_ss "
            f"GUI .json imports with `{command}`, {opens})")


def _import_command(json_path: Path) -> str:
    return f"loratui config import-kohya {shell_arg(json_path)} -o {shell_arg(_free_toml(json_path))}"


def _free_toml(json_path: Path) -> Path:
    """NAME.toml beside the .json, or NAME-2.toml ... when taken (import-kohya never overwrites)."""
    candidate = json_path.with_suffix(".toml")
    number = 2
    while candidate.exists():
        candidate = json_path.with_name(f"{json_path.stem}-{number}.toml")
        number += 1
    return candidate


def _raw_train_dir(path: Path) -> str | None:
    """dataset.train_data_dir as written, from a config that does not load (None: not there)."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    value = data.get("dataset", {}).get("train_data_dir") if isinstance(data.get("dataset"), dict) else None
    return value if isinstance(value, str) and value.strip() else None


def refuse_dumb_terminal(instead: str) -> None:
    """TERM=dumb: Textual would draw full-screen escapes anyway, so say so before any work is done;
    ``instead``: what to run without a full-screen terminal."""
    if os.environ.get("TERM", "").strip().lower() == "dumb":
        raise LoratuiError("TERM=dumb: the app needs a full-screen terminal: run it with TERM set to your "
                           f"terminal's type (e.g. TERM=xterm-256color), or {instead}")


def run_app(target: str | os.PathLike = ".", *, attach: str | os.PathLike | None = None,
            attach_run: str | None = None, attach_earlier: int = 0) -> None:
    """Open the app on ``target``. ``attach``: an output folder whose run the Train screen follows
    (``attach_run``: which one, by output_name; `loratui attach` sets both): ``app.attach_dir``,
    ``app.attach_run``; ``attach_earlier``: its earlier run N (NAME.events.N.jsonl), opened read-only."""
    notes: list[str] = []
    location, config = resolve_target(target, notes)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise LoratuiError("the app needs a terminal (stdin and stdout): run it in a terminal, or use the "
                           "commands (`loratui --help`) from scripts")
    refuse_dumb_terminal("use the commands (`loratui --help`)")
    from loratui.tui.app import LoratuiApp
    from loratui.tui.services.terminal_graphics import forced_value_problem

    graphics_problem = forced_value_problem()  # said once, as the app opens (a warning toast)
    if graphics_problem is not None:
        notes.append(graphics_problem)
    app = LoratuiApp(location, config_path=config)
    app.startup_notes = notes
    app.attach_dir = Path(attach).resolve() if attach is not None else None
    app.attach_run = attach_run
    app.attach_earlier = attach_earlier
    app.handle_signals = True
    run_reporting_crash(app)
    if app.exit_signal is not None:  # SIGHUP/SIGTERM: the drafts are written; exit as the signal would
        raise SystemExit(128 + app.exit_signal)
    # the config the app shows at the end (it may have opened another), else the one it was opened on
    for line in runs_going_on_lines(getattr(app, "config_path", config), app.attach_dir,
                                    getattr(app, "runs_at_quit", ())):
        print(line, flush=True)  # the screen is gone: the shell is the only place left to say it


def runs_going_on_lines(config: Path | None, attach: Path | None, followed=()) -> list[str]:
    """One line per training run live now that the app showed or followed (its config's output folder,
    the attached one, ``followed``: (output folder, NAME) pairs): it outlives the app, so say which it
    is and how to follow it again, as the README says (`loratui attach model/`)."""
    from loratui.core.events import run_is_alive
    from loratui.core.runs import read_summary

    folders = [Path(folder) for folder in (_output_folder(config), attach) if folder is not None]
    candidates = list(followed)
    for folder in folders:
        try:
            candidates += [(folder, entry[:-5]) for entry in sorted(os.listdir(folder)) if entry.endswith(".lock")]
        except OSError:
            continue
    lines, seen = [], set()
    for folder, name in candidates:
        key = (Path(folder).resolve(), name)
        pid = run_is_alive(folder, name) if key not in seen else None
        seen.add(key)
        if pid is None:
            continue
        summary = read_summary(folder, name)
        total = f"/{summary.total_steps}" if summary.total_steps else ""
        step = f"step {summary.step}{total}" if summary.step else "no step yet"
        shown = shell_path(folder, folder=True)
        lines.append(f"training run {name} goes on (pid {pid}, {step}) in {shown}: "
                     f"`loratui attach {shown}` follows it again")
    return lines


def _output_folder(config: Path | None) -> Path | None:
    """The output folder ``config`` trains into (None: no config, or one that does not load)."""
    if config is None:
        return None
    from loratui.core.config import output_dir_of

    try:
        return output_dir_of(config)
    except (LoratuiError, OSError):
        return None


def run_reporting_crash(app, **run_options) -> None:
    """``app.run(**run_options)``, and a crash inside the app ends as the CLI's crashes do (cli.main):
    the traceback in a crash log (core/crashlog.py), ``internal error: TYPE: MESSAGE (details in LOG)``
    on stderr, exit 1. Textual catches the exception itself, prints its traceback (with locals) on
    its error console and returns normally, so without this a crash exited 0. Its error console is
    held here and shown only when nothing crashed (an exit message); LORATUI_DEBUG=1 keeps Textual's
    traceback on the terminal."""
    import io

    from rich.console import Console

    from loratui.core.crashlog import debug_enabled, internal_error_line, write_crash_log

    held = None
    if not debug_enabled():
        held = io.StringIO()
        app.error_console = Console(file=held, markup=False, highlight=False, width=120)
    app.run(**run_options)
    crash = getattr(app, "_exception", None)  # Textual keeps the first unhandled exception here
    if crash is not None and app.return_code:
        if held is not None:
            print(internal_error_line(crash, write_crash_log(crash)), file=sys.stderr)
        raise SystemExit(1)
    if held is not None and held.getvalue():
        sys.stderr.write(held.getvalue())
    if app.return_code:
        raise SystemExit(app.return_code)
