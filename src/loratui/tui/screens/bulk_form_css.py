"""The bulk forms' style (screens.bulk_op): one-line rows so every form fits 80x24."""

BULK_FORM_CSS = """
BulkOpScreen {
    align: center middle;
}
BulkOpScreen > #bulk-dialog {
    width: 100%;
    max-width: 76;
    height: auto;
    max-height: 100%;
    overflow-y: auto;  /* at 40x15 the form's last rows scroll instead of being cut; the keys are the footer's */
    scrollbar-size-vertical: 1;
    border: round $primary;
    border-title-style: bold;
    background: $surface;
    padding: 0 1;
}
BulkOpScreen #bulk-scope {
    color: $text-muted;
    margin-bottom: 1;
}
BulkOpScreen .bulk-row {
    height: auto;  /* a choice's options wrap where the dialog is narrow (widgets.form_controls.BulkChoice) */
    margin-bottom: 1;
}
BulkOpScreen .bulk-row > .bulk-label {
    width: 12;
}
BulkOpScreen .bulk-row > Input {
    width: 1fr;
    height: 1;
    border: none;
    padding: 0 1;
    background: $boost;
}
BulkOpScreen .bulk-row > Input:focus {
    background: $primary 30%;
}
BulkOpScreen .bulk-row > Input.-short {
    width: 10;
    margin-left: 1;
}
BulkOpScreen .bulk-row > Input:disabled {
    background: $surface;
    color: $text-disabled;
}
BulkOpScreen .bulk-help {
    color: $text-muted;
    margin-bottom: 1;
}
BulkOpScreen #bulk-categories {
    height: auto;
    layout: grid;
    grid-size: 3;
    grid-gutter: 0 1;
    margin-bottom: 1;
}
BulkOpScreen #bulk-categories > BulkToggle {
    width: 1fr;
}
BulkOpScreen #bulk-message {
    height: auto;
    min-height: 1;
    color: $text-muted;
}
BulkOpScreen #bulk-message.-error {
    color: $text-error;
    text-style: bold;
}
"""
