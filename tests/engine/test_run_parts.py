"""engine/run.py is split into parts the Run class inherits (events, folder, saves, resume, controls):
a name defined in two parts would silently override the other, so none may be."""

from __future__ import annotations

from loratui.engine.run import Run


def test_no_part_of_run_overrides_another():
    parts = [base for base in Run.__mro__[1:] if base.__module__.startswith("loratui.engine.run_")]
    assert len(parts) >= 5
    seen: dict[str, str] = {}
    for part in parts:
        for name in vars(part):
            if name.startswith("__"):
                continue
            assert name not in seen, f"{name} is in {seen.get(name)} and {part.__name__}"
            seen[name] = part.__name__
    own = {n for n in vars(Run) if not n.startswith("__")}
    assert not own & set(seen), own & set(seen)
