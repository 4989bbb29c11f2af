"""One module per screen (Textual modes) and per modal dialog."""
