"""What ctrl+c says outside a text box (tui.app ``action_help_quit``).

Textual's hint names only the quit key. A kohya_ss or taggui user stops a tagger with ctrl+c, so while
a caption run is busy the hint names the Caption screen's cancel key first (the run stops after the
caption being written and 'caption: resume' continues it); while a Dataset tag write runs it says that
the write cannot be stopped part-way (ctrl+q waits for it). Keys are the ones the user's keymap binds.
"""

from __future__ import annotations


def help_quit_line(app) -> str:
    """One line for ctrl+c: how to quit, and first how to stop what is running."""
    quits = app.key_does(app, "app.quit", "quits", "app: quit")
    runner = getattr(app, "_caption_runner", None)
    if runner is not None and runner.busy:
        cancel = _caption_cancel(app)
        if runner.run.dry_run:
            return f"{cancel} cancels the caption dry run (it writes nothing); {quits}"
        return f"{cancel} cancels the caption run (after the caption being written; resumable); {quits}"
    writer = _dataset_writer(app)
    if writer is not None:
        from loratui.tui.screens.dataset_write_progress import NOUNS

        noun = NOUNS.get(writer.progress_verb, "write")
        what = "tag write" if noun == "write" else noun
        return f"the Dataset screen's {what} cannot be stopped part-way; {quits} once it has finished"
    return f"{quits} the app (ctrl+c copies in a text box)"


def _caption_cancel(app) -> str:
    """"ctrl+g" on the Caption screen; "2 then ctrl+g" elsewhere (the key works there only); the palette
    command where the keymap left no key."""
    from loratui.tui.screens.caption import CaptionScreen

    screen = app.screen if isinstance(app.screen, CaptionScreen) else None
    if screen is None:
        try:
            screen = next((s for s in app.get_screen_stack("caption") if isinstance(s, CaptionScreen)), None)
        except (KeyError, LookupError):
            screen = None
    key = app.key_for("caption.cancel", screen) if screen is not None else ""
    if not key:
        return "'caption: cancel' (ctrl+p)"
    if screen is app.screen:
        return key
    show = app.key_for("app.caption")
    return f"{show} (Caption) then {key}" if show else "'caption: cancel' (ctrl+p)"


def _dataset_writer(app):
    """The Dataset screen while a tag write, undo or redo runs in its worker; None otherwise."""
    try:
        return next((s for s in app.get_screen_stack("dataset") if getattr(s, "writing", None)), None)
    except (KeyError, LookupError):
        return None
