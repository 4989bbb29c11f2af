"""Watch the dataset folder (watchfiles) and tell the UI which caption files changed on disk.

Runs as a thread worker owned by the App (it outlives screens). The UI decides what a change means:
reload the caption, or show a conflict when an edit is pending there. A change to the folders or
images themselves (a concept folder renamed, images added or removed) is delivered as ``root``
itself: the list of images must be read again. The reg folder the table lists too is watched the
same way.

The watch lasts as long as the app: a train folder removed (or moved away) is waited for and watched
again when it is back (h3: `rm -rf img; cp -a bak img` left the app on a dead watch until a restart);
a name watchfiles cannot decode (not UTF-8) makes the folders looked at every few seconds instead
(services.watch_poll), until it is renamed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from loratui.core.termline import escape_controls
from loratui.tui.services.watch_poll import first_undecodable, poll_changes

GONE_POLL_S = 0.5  # how often a train folder that is gone is looked for
# how often the stop check (asked by watchfiles every 50 ms step) looks at the watched folders (h9: every
# step kept an idle app's watcher busy); the stop event is asked every step. A folder removed and made
# again within one such wait is still seen at the next look: the watched folders are held open (_Pinned)
CHANGE_LOOK_S = 0.5


def watch_captions(root: Path, extension: str | Callable[[], str], stop: threading.Event,
                   deliver: Callable[[list[Path]], None],
                   reg_folder: Callable[[], Path | None] | None = None,
                   tell: Callable[[str], None] | None = None) -> None:
    """Block until ``stop`` is set, calling ``deliver(paths)`` for each batch of changed captions.
    ``extension``: the caption extension, or a function giving the current one (Settings may change
    the config's caption_extension while the app runs). ``reg_folder``: a function giving the reg
    folder whose images the table lists too (None: none); its captions are delivered like the train
    folder's, and a change to its images or class folders as ``root`` (list the images again). The
    watch starts over on the new folder when that changes (a rescan after Settings named another),
    when the reg folder is made or removed (delivered as ``root`` too), and when the train or reg
    folder is replaced by another of its name (removed and made again: watchfiles stays on the old
    one, which no longer gets any change). A train folder that is gone is waited for; when it is back,
    ``root`` is delivered. ``tell(line)``: said when a name watchfiles cannot decode makes the folders
    looked at every few seconds instead; once until they are watched by watchfiles again (a name made
    after the first one was renamed is told too).

    The paths are spelled from ``root`` (or the reg folder) as given (watchfiles reports absolute,
    resolved ones: the store of `loratui .` holds "img/x.txt" under ".", and an absolute path never
    matched it)."""
    pins = _Pinned()
    try:
        _watch_until_stopped(root, extension, stop, deliver, reg_folder, tell, pins)
    finally:
        pins.close()


def _watch_until_stopped(root: Path, extension: str | Callable[[], str], stop: threading.Event,
                         deliver: Callable[[list[Path]], None], reg_folder: Callable[[], Path | None] | None,
                         tell: Callable[[str], None] | None, pins: _Pinned) -> None:
    """watch_captions' loop: each turn watches the folders as they are then, until one of them is another
    (or the reg folder changed) or the app stops. ``pins`` holds the watched folders open."""
    before = None
    told = False
    first: list[Path] = []  # delivered once the next watch is looking (so no change in between is lost)
    forced_poll = False  # watchfiles failed on a name the look for odd names did not find: look from then on
    known: dict[str, tuple[int, int] | None] = {}  # each watched folder's identity when last watched
    while not stop.is_set():
        if not _is_dir(root):
            if known:  # it was watched: the table says it is gone (its listing fails, named)
                deliver([root])
                known = {}
            pins.close()  # nothing to tell a folder made again from: it is listed again whatever it is
            if not _wait_for_folder(root, stop):
                return
            first[:] = [root]  # back (made again, or moved back): its images are listed again
        reg = reg_folder() if reg_folder is not None else None
        present = reg is not None and _is_dir(reg)
        if before is not None and before == (reg, not present):
            deliver([root])  # the reg folder was made or removed: its images come or go from the list
        before = (reg, present)
        watched = [root, *filter(None, [_watched_reg(root, reg)])]
        removed = pins.removed()  # a folder held by the last watch was removed (the numbers may not tell)
        identities = pins.take(watched)  # held open: a folder made again later cannot get the same inode
        if removed or any(known.get(os.fspath(f), i) != i for f, i in zip(watched, identities)):
            first[:] = [root]  # made again since the last watch: what it holds now is listed again
        known = {os.fspath(f): i for f, i in zip(watched, identities)}

        def changed(reg=reg, present=present, watched=watched, identities=identities) -> bool:
            # asked every CHANGE_LOOK_S (_StopOrChange): no realpath here; a stat of each watched folder
            # tells one made again (never with the inode of the one held open), the held one's link count
            # one removed
            now = reg_folder() if reg_folder is not None else None
            return (now != reg or (now is not None and _is_dir(now) != present)
                    or [_identity(folder) for folder in watched] != identities or pins.removed())

        odd = first_undecodable(watched)
        poll = forced_poll or odd is not None
        if not poll:
            told = False  # watched by watchfiles again: the next name it cannot decode is told too
        elif odd is not None and not told and tell is not None:
            told = True
            tell(_poll_line(root, odd))
        try:  # ends when the app stops, or to start over (another reg folder, a folder made again)
            if _watch(root, watched[1] if len(watched) > 1 else None, extension, _StopOrChange(stop, changed),
                      deliver, first, poll=poll, until_decodable=not forced_poll):
                first[:] = [root]  # a watched folder itself removed or moved: listed again once watched again
                continue
        except FileNotFoundError:  # a folder went between the look and the watch: looked at again
            stop.wait(0.1)
            continue
        except RuntimeError as exc:  # WatchfilesRustInternalError: a name not UTF-8 made since the look
            if "decode path" not in str(exc):
                raise
            odd = first_undecodable(watched)
            forced_poll = odd is None  # not found by the look: it would fail again
            if not told and tell is not None:
                told = True  # the name as found (one escape rule), else as watchfiles wrote it (\xFF)
                tell(_poll_line(root, odd or _path_in(str(exc)) or str(exc)))
            first[:] = [root]  # the changes of the batch it dropped: the images and captions are read again
            continue
        if not changed() and not stop.is_set():
            stop.wait(0.5)  # it ended on its own (the odd names renamed, when looking): watch again


def _poll_line(root: Path, odd: str) -> str:
    """The one line said when the folders are looked at instead of watched. The name is written by
    core.termline's one rule (an undecodable byte as \\xff, a newline as \\n: the line stays one line)."""
    where = escape_controls(os.fspath(as_under(root, odd)) if os.path.isabs(odd) else odd)
    return (f"{where}: the name is not valid UTF-8, so changes on disk are looked for every few seconds "
            "instead of seen at once; rename it to a UTF-8 name")


def _path_in(message: str) -> str | None:
    """The path quoted in watchfiles' 'Unable to decode path "…" to string' (already written with \\xFF)."""
    start, end = message.find('"'), message.rfind('"')
    return message[start + 1:end] if 0 <= start < end else None


def _wait_for_folder(folder: Path, stop: threading.Event) -> bool:
    """Wait until ``folder`` is a folder again (True) or the app stops (False)."""
    while not _is_dir(folder):
        if stop.wait(GONE_POLL_S):
            return False
    return True


class _Pinned:
    """The watched folders, held open (a file descriptor each) while they are watched.

    The kernel does not give the inode number of a folder still open to a new one: a folder removed and
    made again (``rm -rf img; cp -a bak img``) then always has another (device, inode), however short the
    gap and however seldom it is looked at (CHANGE_LOOK_S). Not held, ext4 often gives the new folder the
    old number, and only a look that fell inside the gap, or watchfiles reporting the folder itself (lost
    when the watch stops first), told the two apart. The one held also tells by its link count (0) that it
    was removed, where inode numbers are made up (some FUSE file systems)."""

    def __init__(self) -> None:
        self._fds: list[int | None] = []

    def take(self, folders: list[Path]) -> list[tuple[int, int] | None]:
        """Hold ``folders`` open (those held before are let go only then) and give their identities."""
        fds = [_open_folder(folder) for folder in folders]
        self.close()
        self._fds = fds
        return [_fd_identity(fd) if fd is not None else _identity(folder) for fd, folder in zip(fds, folders)]

    def removed(self) -> bool:
        """A folder held was removed (it may have been made again under its name since)."""
        for fd in self._fds:
            try:
                if fd is not None and os.fstat(fd).st_nlink == 0:
                    return True
            except OSError:
                return True
        return False

    def close(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


def _open_folder(folder: Path) -> int | None:
    """``folder`` opened to be held (not inherited by child processes); None where it cannot be (gone, no
    permission, a platform that does not open folders): its stat stands for it then."""
    try:
        return os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None


def _fd_identity(fd: int) -> tuple[int, int] | None:
    try:
        stat = os.fstat(fd)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _identity(folder: Path) -> tuple[int, int] | None:
    """Which folder ``folder`` names now (device, inode; None: none): another one once it was made again."""
    try:
        stat = os.stat(folder)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _watched_reg(root: Path, reg: Path | None) -> Path | None:
    """The reg folder to watch beside ``root``: none when it is missing (watchfiles cannot watch it)
    or is the train folder itself (listed once, as train: list_with_reg)."""
    if reg is None or not _is_dir(reg) or os.path.realpath(reg) == os.path.realpath(root):
        return None
    return Path(reg)


class _StopOrChange:
    """watchfiles' stop event (it asks ``is_set`` every step): the app's ``stop``, or ``changed()``."""

    def __init__(self, stop: threading.Event, changed: Callable[[], bool], every: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stop, self._changed, self._clock = stop, changed, clock
        self._every = CHANGE_LOOK_S if every is None else every  # read at each watch: tests may set it
        self._looking: Callable[[], None] | None = None
        self._quiet_until = 0.0  # monotonic time until which the last "not changed" stands (0: ask now)

    def when_looking(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, at the first ask that does not stop the watch. watchfiles asks only
        from its wait loop, in this thread, after its watch was set up (RustNotify made): from then on
        no change is missed. No timeout is needed for that (rust_timeout with yield_on_timeout gave an
        empty batch every 300 ms for the rest of the watch, not once)."""
        self._looking = callback

    def is_set(self) -> bool:
        if self._stop.is_set() or self._changed_now():
            return True  # ``first`` is kept for the next watch
        if self._looking is not None:
            looking, self._looking = self._looking, None
            looking()
        return False

    def _changed_now(self) -> bool:
        """``changed()``, asked at most every ``every`` seconds while it says no (a yes ends the watch:
        asked again at once)."""
        now = self._clock()
        if now < self._quiet_until:
            return False
        if self._changed():
            return True
        self._quiet_until = now + self._every
        return False


def _watch(root: Path, reg: Path | None, extension: str | Callable[[], str], stop: _StopOrChange,
           deliver: Callable[[list[Path]], None], first: list[Path] | None = None, poll: bool = False,
           until_decodable: bool = True) -> bool:
    """Deliver the changes under ``root`` (and ``reg``) until ``stop``; ``first`` once the watch is
    looking. ``poll``: looked at every few seconds (services.watch_poll), not watched; then
    ``until_decodable``: it ends once no name watchfiles cannot decode is left. True when it ended as
    ``root`` or ``reg`` itself was reported (moved, or removed: the watch would stay on the old folder)."""
    # the folder names right in each watched folder, kept current from the changes: a folder gone can
    # no longer be asked
    folders = {root: folders_in(root), **({reg: folders_in(reg)} if reg is not None else {})}
    # the reg folder's spellings, worked out once: a caption run reports thousands of changes
    reg_prefixes = _spellings(reg) if reg is not None else ()
    themselves = _spellings(root) | (_spellings(reg) if reg is not None else set())
    first = [] if first is None else first
    if poll:
        source = poll_changes(list(folders), stop, until_decodable=until_decodable)
    else:
        from watchfiles import watch

        if first:  # delivered once it is looking (the poll's first batch, empty, does the same)
            stop.when_looking(lambda: _deliver_first(first, deliver))
        source = watch(*folders, stop_event=stop, recursive=True, debounce=200, step=50, raise_interrupt=False,
                       ignore_permission_denied=True)
    for changes in source:
        ext = extension() if callable(extension) else extension
        paths, relist = set(first), False
        first.clear()  # delivered below (the caller's list: kept for the next watch when this one ends first)
        for _, reported in changes:
            base = reg if _is_under(reg_prefixes, reported) else root
            if reported.endswith(ext) and "/.loratui/" not in reported:
                paths.add(as_under(base, reported))
            # every change is looked at (no any(): each one keeps the folder names current)
            relist |= _lists_images(base, reported, folders[base])
        if relist:  # the train folder stands for "list the images again", reg ones too
            paths.add(root)
        if paths:
            deliver(sorted(paths))
        if any(reported in themselves for _, reported in changes):
            return True
    return False


def _deliver_first(first: list[Path], deliver: Callable[[list[Path]], None]) -> None:
    """Deliver ``first`` (the caller's list, emptied: a later watch has nothing left to deliver)."""
    paths = sorted(set(first))
    first.clear()
    if paths:
        deliver(paths)


def _spellings(base: Path) -> set[str]:
    """``base`` as given (made absolute) and resolved: watchfiles may report either."""
    return {str(base.absolute()), os.path.realpath(base)}


def _is_under(prefixes: set[str] | tuple[()], reported: str) -> bool:
    """``reported`` (absolute, as watchfiles gives it) is one of ``prefixes`` or in it."""
    return any(reported == p or reported.startswith(p.rstrip(os.sep) + os.sep) for p in prefixes)


def folders_in(root: Path) -> set[str]:
    """The names of the folders right in ``root`` now."""
    try:
        with os.scandir(root) as entries:
            return {e.name for e in entries if _is_dir(e.path)}
    except OSError:
        return set()


def _is_dir(path: str | os.PathLike) -> bool:
    try:
        return os.path.isdir(path)
    except OSError:
        return False


def _lists_images(root: Path, reported: str, folders: set[str] | None = None) -> bool:
    """A change the image list shows: an image, or a folder right in the train folder (a concept
    renamed, added or removed). Hidden names (our temporary files, .loratui) are not.

    A folder is told from a file by what is on disk when it is there; a name gone (deleted, or the
    old name of a rename) by ``folders``, the folder names seen before (kept current here), as it can
    no longer be asked. A suffix proves nothing: ``10_my.style`` is a concept folder."""
    from loratui.core.dataset import IMAGE_EXTENSIONS

    path = as_under(root, reported)
    if path.name.startswith(".") or "/.loratui/" in reported:
        return False
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return True
    if path.parent != root:
        return False
    known = folders if folders is not None else set()
    if _is_dir(reported):
        known.add(path.name)
        return True
    if path.name in known:  # a folder that was here: removed, renamed away, or replaced by a file
        known.discard(path.name)
        return True
    # gone before it was ever seen (made and removed within one batch), with no memory to ask:
    # a name without a suffix was most likely a folder; reading the list again costs little
    return not os.path.lexists(reported) and not path.suffix


def as_under(root: Path, reported: str) -> Path:
    """``reported`` (absolute) as a path under ``root``, spelled the way ``root`` is."""
    path = Path(reported)
    for base in (root.absolute(), root.resolve()):
        try:
            return root / path.relative_to(base)
        except ValueError:
            continue
    return path
