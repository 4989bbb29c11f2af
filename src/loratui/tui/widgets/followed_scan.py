"""FollowedScan: the dataset scan a Settings panel computes from, kept equal to the disk.

The step calculator and the VRAM panel are handed a scan by their host (Settings passes the app store's),
but that scan is as old as the store's last rescan, and `loratui steps` / `loratui vram` scan the config's
folders as they are now. So a panel shows the host's scan (or the last one it had) at once, and gets the
scan of the disk now (services.disk_scan ``scan_now``, cached by folder mtimes and shared by the panels)
from a thread worker; every ``POLL_SECONDS`` (while its screen is shown) ``recheck`` looks at the folders'
mtimes again and scans again only when images or folders changed, so images copied in or deleted show
within about two seconds, whoever owns the scan.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.widget import Widget

from loratui.core.config import TrainingConfig, resolve_path
from loratui.core.dataset import DatasetScan
from loratui.core.errors import LoratuiError
from loratui.tui.services.disk_scan import recheck, scan_now
from loratui.tui.services.scan_cache import SCAN_CACHE, folder_key, scan_is_of
from loratui.tui.services.work import failure_line, run_in_thread

POLL_SECONDS = 2.0
Result = DatasetScan | LoratuiError


def folders_of(cfg: TrainingConfig) -> tuple:
    """What a scan of ``cfg`` is of: its caption extension, train and reg folders (absolute)."""
    d = cfg.dataset
    return (d.caption_extension,
            resolve_path(cfg, d.train_data_dir, key="train_data_dir") if d.train_data_dir else "",
            resolve_path(cfg, d.reg_data_dir, key="reg_data_dir") if d.reg_data_dir else "")


class FollowedScan:
    """The scan of the config's folders for ``owner``: ``follow`` answers at once, ``shown(result)`` is
    called (UI thread) when a scan of the disk as it is now differs from what was answered."""

    def __init__(self, owner: Widget, shown: Callable[[Result], None], *, group: str,
                 failed: Callable[[str], None] | None = None) -> None:
        self.owner, self._shown, self.group, self._failed = owner, shown, group, failed
        self.cfg: TrainingConfig | None = None
        self.key: tuple | None = None     # folder key the scan answered is current for (None: not known yet)
        self.result: Result | None = None
        self._folders: tuple | None = None  # folders_of the config the result is of
        self._scanning: tuple | None = None  # (folder key, token) of the scan a worker runs now
        self._failed_at: tuple | None = None  # folder key a scan failed at (a bug): not tried again at each key

    def start_polling(self, seconds: float | None = None) -> None:
        """From the owner's on_mount (every ``seconds``, POLL_SECONDS by default)."""
        self.owner.set_interval(seconds or POLL_SECONDS, self.poll)

    def follow(self, cfg: TrainingConfig, host_scan: DatasetScan | None) -> Result | None:
        """What to compute ``cfg`` from now: the cached scan of its folders as they are, else the newest
        scan of them at hand (the host's, or ours from before a change; the scan of the disk follows
        through ``shown``), else None (scanning: nothing to show yet)."""
        self.cfg, folders = cfg, folders_of(cfg)
        key = folder_key(cfg)  # a stat per folder: fine on the UI thread
        cached = SCAN_CACHE.get(key)
        if cached is not None:
            self.key, self.result, self._folders = key, cached, folders
            return cached
        if key != self._failed_at:
            self._scan(cfg, key)
        if self.result is not None and self._folders == folders:
            return self.result  # ours, from before the change being scanned: newer than the host's
        self.key = None
        if host_scan is not None and scan_is_of(host_scan, cfg):
            self.result, self._folders = host_scan, folders
            return host_scan
        self.result, self._folders = None, None
        return None

    def poll(self) -> None:
        """Every POLL_SECONDS: has the disk moved from the scan shown? (in a thread; skipped while a scan
        runs, or while the owner's screen is not the one shown: it is looked at again when it is)."""
        cfg = self.cfg
        if cfg is None or self._scanning is not None or not self._on_screen():
            return
        if self.key is None:  # the host's scan, and ours was dropped for a config since: ask again
            self._scan(cfg, None)
            return

        def checked(answer: tuple[str, tuple]) -> None:
            verdict, key = answer
            if self._scanning is not None or folders_of(cfg) != folders_of(self.cfg):
                return  # a scan on its way, or other folders by now: that scan answers
            if verdict == "kept":
                self.key = key  # only captions changed: the same counts
            elif verdict == "changed":
                self._scan(self.cfg, key)

        run_in_thread(self.owner, recheck, cfg, self.key, done=checked, failed=lambda exc: None,
                      what="dataset check", group=f"{self.group}-poll", exclusive=True)

    def _on_screen(self) -> bool:
        try:
            return self.owner.screen.is_current
        except Exception:  # noqa: BLE001 - not mounted (any more): nothing to follow
            return False

    def _scan(self, cfg: TrainingConfig, key: tuple | None) -> None:
        """Scan ``cfg``'s folders as they are now (``key``: their folder key, when known) in a worker."""
        if key is not None and self._scanning is not None and self._scanning[0] == key:
            return  # already on its way
        token = (key, object())
        self._scanning = token

        def done(answer: tuple[tuple, Result]) -> None:
            if self._scanning is token:
                self._scanning = None
            new_key, result = answer
            if folders_of(cfg) != folders_of(self.cfg):
                return  # the config names other folders by now: their own scan is on its way
            same = result is self.result
            self.key, self.result, self._folders = new_key, result, folders_of(cfg)
            if not same:
                self._shown(result)

        def failed(exc: BaseException) -> None:
            if self._scanning is token:
                self._scanning = None
            if folders_of(cfg) != folders_of(self.cfg):
                return
            # tried at this state: the next change on disk tries again, not each poll
            self.key = self._failed_at = folder_key(cfg)
            if self._failed is not None:
                self._failed(failure_line("", exc)[0])

        run_in_thread(self.owner, scan_now, cfg, done=done, failed=failed, what="dataset scan",
                      group=f"{self.group}-scan", exclusive=True)
