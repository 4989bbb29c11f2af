"""Bulk tag edits: operations -> an edit plan (a diff, nothing written) -> apply (with undo).

``plan_edits(captions, ops, where=..., ctx=...)`` runs a list of operations (core/captions/ops.py)
over many captions and returns an EditPlan that lists only the files that change, with the tags
each gains and loses, ready to render as a preview; nothing is written until
``journal.apply_plan(plan, dataset)``, which journals the old bytes so the change can be
undone, even after a restart.

For the TUI: ``plan_set_tags`` makes the same kind of plan from a hand edit of one or more
captions (the inline tag editor), so every write goes through one path (conflict check, journal).
``EditPlan.summary()`` gives the counts a preview header needs.

Several operations (a recipe) run one after another, each on the previous one's output, so a recipe
replays exactly as its steps ran one command at a time: a sort by frequency counts the tags as the
earlier operations left them (the dataset's counts, updated by this plan's changes so far), and an
operation's own ``where`` looks at the caption's tags as they are at that point. The plan's ``where``
(a recipe's top-level one, the command's --where) picks the captions once, as loaded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from loratui.core.captions.files import Caption, is_free_text
from loratui.core.captions.filter import parse_where
from loratui.core.captions.ops import EditContext, Op, unwritable_tag
from loratui.core.captions.tagkey import count_tags, nfc
from loratui.core.captions.tagkey import counted_once as _once

Where = Callable[[Caption], bool]


def _multiset_minus(tags: list[str], other: list[str]) -> list[str]:
    """The tags of ``tags`` left after taking away ``other`` (counting repeats), in ``tags``' order."""
    extra = Counter(tags) - Counter(other)
    out = []
    for tag in tags:
        if extra[tag]:
            extra[tag] -= 1
            out.append(tag)
    return out


@dataclass
class FileEdit:
    """One caption file's change: its tags before (``old``) and after (``new``)."""

    caption: Caption
    old: list[str]
    new: list[str]

    @property
    def path(self) -> Path:
        return self.caption.path

    @cached_property
    def added(self) -> list[str]:
        """Tags gained (a multiset difference, so a removed duplicate shows as removed), in new order."""
        return _multiset_minus(self.new, self.old)

    @cached_property
    def removed(self) -> list[str]:
        """Tags lost, in their old order."""
        return _multiset_minus(self.old, self.new)

    @property
    def reordered_only(self) -> bool:
        return not self.added and not self.removed

    @property
    def new_file(self) -> bool:
        """True when the image had no caption file: applying creates it."""
        return not self.caption.exists

    @property
    def old_text(self) -> str:
        return self.caption.text()

    @property
    def new_text(self) -> str:
        """The first line as it will be written."""
        return self.caption.text(self.new)

    def to_dict(self, root: Path | None = None) -> dict:
        path = self.path
        if root is not None:
            try:
                path = path.relative_to(root)
            except ValueError:
                pass
        return {"path": str(path), "old": self.old, "new": self.new, "added": self.added,
                "removed": self.removed, "new_file": self.new_file}


def _kept_keys(edit: FileEdit) -> set[str]:
    """The NFC forms of the tags a file keeps (had and still has): a removed tag whose form is among
    them was an extra copy (dedupe merging ``café`` and its decomposed twin), not a lost tag."""
    return set(map(nfc, set(edit.old) & set(edit.new)))


@dataclass
class EditPlan:
    """What applying ``ops`` would change: only the files that change are listed."""

    ops: list[Op]
    edits: list[FileEdit]
    considered: int  # captions the filter selected
    description: str = ""
    skipped_text: int = 0  # free-text captions that reordering operations left alone
    notes: list[str] = field(default_factory=list)  # what an operation left undone (an add: another spelling)

    def __len__(self) -> int:
        return len(self.edits)

    def __iter__(self):
        return iter(self.edits)

    @property
    def changed(self) -> int:
        return len(self.edits)

    @property
    def new_files(self) -> int:
        return sum(1 for e in self.edits if e.new_file)

    def describe(self) -> str:
        return self.description or "; ".join(op.describe_where() for op in self.ops)

    def tag_changes(self) -> tuple[Counter, Counter]:
        """(tag -> files gaining it, tag -> files losing it): a file gains a tag it did not have and
        loses one it no longer has. A removed extra copy (dedupe, a rename merging into a tag the
        caption already has) loses nothing: ``duplicate_changes`` counts those. Counted under the NFC
        spelling (as ``tag_frequency``): a decomposed and a composed ``café`` removed are one entry, not
        two that look the same; a file rewritten from one to the other gains and loses ``café``."""
        added, removed = Counter(), Counter()
        for edit in self.edits:
            if edit.added:
                old = set(edit.old)
                added.update(_once([t for t in edit.added if t not in old]))  # dict: stable ties
            if edit.removed:
                kept = _kept_keys(edit)
                removed.update(_once([t for t in edit.removed if nfc(t) not in kept]))
        return added, removed

    def duplicate_changes(self) -> Counter:
        """tag -> extra copies removed from captions that keep the tag (what dedupe does)."""
        copies: Counter = Counter()
        for edit in self.edits:
            if edit.removed:
                kept = _kept_keys(edit)
                copies.update(nfc(t) for t in edit.removed if nfc(t) in kept)
        return copies

    def get(self, path: Path) -> FileEdit | None:
        """The planned edit of one caption file (for a per-file preview), or None."""
        for edit in self.edits:
            if edit.path == path:
                return edit
        return None

    def summary(self) -> dict:
        added, removed = self.tag_changes()
        return {
            "description": self.describe(),
            "considered": self.considered,
            "changed": self.changed,
            "unchanged": self.considered - self.changed,
            "new_files": self.new_files,
            "reordered_only": sum(1 for e in self.edits if e.reordered_only),
            "skipped_free_text": self.skipped_text,
            "tags_added": dict(added.most_common()),
            "tags_removed": dict(removed.most_common()),
            "duplicates_removed": dict(self.duplicate_changes().most_common()),
            "notes": list(self.notes),
        }

    def to_dict(self, root: Path | None = None) -> dict:
        data = {"ops": [op.to_dict() for op in self.ops]}
        data.update(self.summary())
        data["files"] = [e.to_dict(root) for e in self.edits]
        return data


def tag_frequency(captions: Iterable[Caption], where: Where | None = None) -> Counter:
    """tag -> number of captions containing it (a tag twice in one caption counts once). Tags are
    counted in composed Unicode (NFC): NFC and NFD spellings of one tag are one row, under the NFC one
    (the tag tools match either from it)."""
    return count_tags(caption.tags for caption in captions if where is None or where(caption))


def run_ops(tags: list[str], ops: list[Op], ctx: EditContext | None = None) -> list[str]:
    """Apply ``ops`` to one tag list (ignoring their ``where``): the one-caption form of a plan."""
    ctx = ctx or EditContext()
    for op in ops:
        tags = op.compile(ctx)(tags)
    return list(tags)


def _as_now(caption: Caption, tags: list[str]) -> Caption:
    """``caption`` as it reads with ``tags`` (what an operation's ``where`` sees after the earlier
    operations): its first line, and a missing file that has gained tags exists by then."""
    if tags is caption.tags or tags == caption.tags:
        return caption
    return replace(caption, tags=list(tags), first_line=caption.join(tags), raw=caption.format(tags))


def _frequency_now(base: Counter, captions: list[Caption], current: list[list[str]]) -> Counter:
    """``base`` (the dataset's counts before the plan) with the changes made so far: each changed
    caption's old tags counted out, its current ones in (once per caption, as ``tag_frequency``)."""
    counts = Counter(base)
    for caption, tags in zip(captions, current):
        if tags is not caption.tags:
            counts.subtract(_once(caption.tags))
            counts.update(_once(tags))
    return +counts  # drop the tags no caption has any more


def plan_edits(captions: list[Caption], ops: list[Op], *, where: Where | None = None,
               ctx: EditContext | None = None, description: str = "") -> EditPlan:
    """The edit plan of ``ops`` over the captions that ``where`` selects. Writes nothing.

    The operations run in order, each on what the previous ones made of every caption (see the
    module's note). Each operation's own ``where`` (from a recipe) further limits it. Reordering
    operations (sort, move to front) leave free-text captions alone: their parts are clauses of a sentence.
    """
    if ctx is None:
        ctx = EditContext()
    if not ctx.frequency:
        ctx.frequency = tag_frequency(captions)
    if ctx.separator is None and captions:  # one dataset, one separator: what its captions were split at
        ctx.separator = captions[0].separator
    compiled = [op.compile(ctx) for op in ops]  # a bad pattern fails here, before any caption is looked at
    chosen = [c for c in captions if where is None or where(c)]
    current = [c.tags for c in chosen]
    skipped = [False] * len(chosen)
    changed = False  # has an earlier operation changed a caption (so counts must be taken again)?
    notes: list[str] = []
    for op, run in zip(ops, compiled):
        if changed and op.uses_frequency:
            run = op.compile(replace(ctx, frequency=_frequency_now(ctx.frequency, chosen, current)))
        op_where = parse_where(op.where)
        for index, caption in enumerate(chosen):
            tags = current[index]
            if op.reorders and is_free_text(tags):
                skipped[index] = True
                continue
            if op_where is not None and not op_where(_as_now(caption, tags)):
                continue
            new = run(tags)
            if new is not tags:
                current[index] = new
                changed = True
        notes += getattr(run, "notes", list)()  # an operation's own account, once it has seen every caption
    edits = [FileEdit(caption, list(caption.tags), list(tags)) for caption, tags in zip(chosen, current)
             if tags is not caption.tags and tags != caption.tags]
    return EditPlan(list(ops), edits, len(chosen), description, sum(skipped), notes)


def check_written_tags(plan: EditPlan, separator: str) -> None:
    """Refuse a plan that would write a tag holding a line break or the separator (e.g. a regex
    replacement ``\\1, \\2``): it would not read back as that tag. One LoratuiError, nothing written."""
    from loratui.core.errors import LoratuiError

    for edit in plan.edits:
        for tag in edit.added:
            problem = unwritable_tag(tag, separator)
            if problem:
                raise LoratuiError(f"{edit.path}: the plan would write the tag {tag!r}, which {problem}; "
                                   "nothing written")


def plan_set_tags(changes: Iterable[tuple[Caption, list[str]]], description: str = "edit tags") -> EditPlan:
    """A plan from hand edits (the TUI's inline editor): each caption gets exactly these tags."""
    edits = []
    considered = 0
    for caption, tags in changes:
        considered += 1
        tags = [t.strip() for t in tags if t and t.strip()]
        if tags != caption.tags:
            edits.append(FileEdit(caption, list(caption.tags), tags))
    return EditPlan([], edits, considered, description)

