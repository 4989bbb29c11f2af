"""Captions: the caption files beside the images, and every change made to them.

Here live reading and writing caption files byte-exactly and atomically (files.py), tag patterns
(patterns.py), the `--where` filter language (filter.py), tag operations (ops.py; tagfn.py: what they
compile to), edit plans, the diff that is shown before anything is written (plan.py), applying plans with the undo journal
(journal.py; when its entries moved, to walk two journals as one: journal_moves.py; the newest entry's
name a balance keeps: journal_newest.py), writing captions a batch
at a time as one undoable change (writer.py: caption runs),
walking that journal back and forth (undo.py: undo, redo; image_gone.py: the captions a walk leaves out
because their image is gone, and the sentence naming them), TOML recipes of operations (recipes.py)
and the tag vocabulary that completes tags (tagvocab.py); when two spellings are one tag (tagkey.py:
NFC, case, ``_``), and the notes naming the spelling a typed tag has in the captions (spellings.py); one
Replace of several old tags (replace_many.py). It may use core.dataset (which folders and files are images); it knows nothing of
training configs, step plans or models. Import from here, not from the modules.
"""

from __future__ import annotations

from loratui.core.captions.files import (
    DEFAULT_SEPARATOR, Caption, Fingerprint, caption_path, check_rewritable, check_separator,
    find_caption_images, non_concept_folders, is_free_text, join_tags, load_captions, multiline_captions, parse_caption,
    read_caption, read_only, split_tags, write_caption,
)
from loratui.core.captions.filter import SYNTAX_HELP, any_tag_term, combine_where, parse_where, quote_hint, tag_term
from loratui.core.captions.filter import FLAGS as WHERE_FLAGS
from loratui.core.captions.journal import (
    CAPTION_RUN, ApplyResult, JournalBusyError, apply_plan, entry_item, find_conflicts, journal_dir,
    journal_lock, landed, load_entry, read_header, redo_dir,
)
from loratui.core.captions.image_gone import SHOWN_IMAGE_GONE, caption_bases, image_gone_line
from loratui.core.captions.journal_moves import clear_redo_before, entry_moved_at, last_moved_at, newest_change_at
from loratui.core.captions.journal_newest import newest_entry_name
from loratui.core.captions.journal_renames import follow_folder_renames, remap_folders
from loratui.core.captions.ops import (
    CATEGORY_NAMES, CATEGORY_ORDER, RATING_TAGS, SORT_KEYS, AddTags, Dedupe, EditContext, MoveToFront, Op,
    RemoveCategory, RemoveTags, ReplaceTag, SortTags, StripUnderscores, check_ops, unwritable_tag,
)
from loratui.core.captions.op_records import OPS, op_from_dict
from loratui.core.captions.patterns import MATCH_MODES, pattern_kind, tag_matcher
from loratui.core.captions.plan import (
    EditPlan, FileEdit, check_written_tags, plan_edits, plan_set_tags, run_ops, tag_frequency,
)
from loratui.core.captions.recipes import (
    Recipe, append_to_recipe, check_recipe_target, dumps_recipe, load_recipe, recipe_from_dict, recipe_to_dict, save_recipe,
)
from loratui.core.captions.replace_many import describe_replace, parse_old_tags, replace_ops
from loratui.core.captions.spellings import op_spelling_notes, typed as typed_tag, where_spelling_notes
from loratui.core.captions.recode import Recode, describe_encoding, recode_captions, recode_plan
from loratui.core.captions.tagkey import nfc, tag_key
from loratui.core.captions.tagvocab import (
    CATEGORY_LABELS, Completion, TagInfo, TagVocab, load_selected_tags, tag_categories,
)
from loratui.core.captions.undo import (
    UndoPlan, UndoResult, can_redo, can_undo, dropped_changes, dropped_note, history, plan_redo, plan_undo, redo_history,
    redo_last, undo_last,
)
from loratui.core.captions.writer import OVERWRITE, ChangeWriter, hold_for_run, write_checked

__all__ = [
    "CAPTION_RUN", "CATEGORY_LABELS", "CATEGORY_NAMES", "CATEGORY_ORDER", "DEFAULT_SEPARATOR", "MATCH_MODES", "OPS",
    "OVERWRITE", "RATING_TAGS", "SHOWN_IMAGE_GONE", "SORT_KEYS", "SYNTAX_HELP", "WHERE_FLAGS",
    "AddTags", "ApplyResult", "Caption", "ChangeWriter", "Completion", "Dedupe", "EditContext", "EditPlan",
    "FileEdit", "Fingerprint", "JournalBusyError", "MoveToFront", "Op", "Recipe", "RemoveCategory", "RemoveTags", "ReplaceTag",
    "Recode", "SortTags", "StripUnderscores", "TagInfo", "TagVocab", "UndoPlan", "UndoResult",
    "append_to_recipe", "apply_plan", "caption_bases", "image_gone_line", "check_recipe_target", "can_redo", "can_undo", "caption_path", "check_ops",
    "check_rewritable", "check_separator", "check_written_tags", "clear_redo_before", "combine_where",
    "entry_moved_at", "last_moved_at", "newest_change_at", "newest_entry_name",
    "dropped_changes", "dropped_note", "dumps_recipe", "entry_item", "find_caption_images", "non_concept_folders",
    "find_conflicts", "follow_folder_renames", "history", "hold_for_run", "is_free_text", "join_tags", "journal_dir", "journal_lock",
    "landed", "load_captions", "load_entry", "load_recipe", "load_selected_tags", "multiline_captions", "op_from_dict", "parse_caption",
    "parse_where", "pattern_kind", "tag_term", "any_tag_term", "quote_hint", "plan_edits", "plan_redo", "plan_set_tags", "plan_undo", "read_caption",
    "read_header", "read_only", "recipe_from_dict", "recode_captions", "recode_plan", "describe_encoding", "recipe_to_dict", "redo_dir", "redo_history", "redo_last", "remap_folders",
    "nfc", "run_ops", "save_recipe", "split_tags", "tag_categories", "tag_frequency", "tag_key", "tag_matcher", "undo_last",
    "unwritable_tag", "write_caption", "write_checked",
    "describe_replace", "parse_old_tags", "replace_ops", "op_spelling_notes", "typed_tag", "where_spelling_notes",
]
