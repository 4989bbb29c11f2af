"""What a kohya_ss GUI JSON import did with each key (kohya_import.py fills it; the CLI and the TUI print it)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from loratui.core.config.kohya_prompts import prompts_file, write_prompts


@dataclass
class ImportReport:
    mapped: list[tuple[str, str, str]] = field(default_factory=list)  # (kohya key, section.key, note)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (kohya key, reason)
    prompts_text: str | None = None
    warnings: list[str] = field(default_factory=list)
    dataset_config: str | None = None  # the dataset TOML that was read, if any
    from_dataset_config: list[tuple[str, str, str]] = field(default_factory=list)  # (TOML key, section.key, note)

    def lines(self) -> list[str]:
        out = [f"mapped {len(self.mapped)} keys:"]
        out += [f"  {k} -> {ours}" + (f"  ({note})" if note else "") for k, ours, note in self.mapped]
        if self.dataset_config:
            out.append(f"from the dataset_config {self.dataset_config}:")
            out += [f"  {k} -> {ours}" + (f"  ({note})" if note else "")
                    for k, ours, note in self.from_dataset_config]
        out.append(f"ignored {len(self.ignored)} keys:")
        out += [f"  {k}: {why}" for k, why in self.ignored]
        out += [f"warning: {w}" for w in self.warnings]
        return out

    def prompts_file(self, target: str | os.PathLike) -> tuple[Path, bool]:
        """(where the imported prompts go, whether that file must be written): kohya_prompts.py."""
        if self.prompts_text is None:
            raise ValueError("no imported sample prompts")
        return prompts_file(self.prompts_text, target)

    def write_prompts(self, target: str | os.PathLike) -> tuple[Path, bool]:
        """Write the imported prompts beside a config, never over a file: kohya_prompts.py."""
        return write_prompts(self.prompts_text or "", target)

    def add_note(self, ours: str, note: str) -> None:
        """Add ``note`` to the mapped line (of the JSON or of its dataset_config) that set ``ours`` (section.key)."""
        for entries in (self.mapped, self.from_dataset_config):
            for i, (key, target, old) in enumerate(entries):
                if target == ours:
                    entries[i] = (key, target, "; ".join(part for part in (old, note) if part))
                    return
