"""Reusable widgets: no dataset logic (that is core), no screen flow."""
