"""engine/run.py is split into parts the Run class inherits (events, folder, saves, resume, controls):
a name defined in two parts would silently override the other, so none may be, except a wrapper's
declared WRAPS (it calls the wrapped part through super(), so it must come first in the MRO)."""

from __future__ import annotations

from loratui.engine.run import Run


def test_no_part_of_run_overrides_another():
    parts = [base for base in Run.__mro__[1:] if base.__module__.startswith("loratui.engine.run_")]
    assert len(parts) >= 5
    seen: dict[str, str] = {}
    for part in parts:
        for name in vars(part):
            if name.startswith("__") or name in getattr(part, "WRAPS", ()) or name == "WRAPS":
                continue
            assert name not in seen, f"{name} is in {seen.get(name)} and {part.__name__}"
            seen[name] = part.__name__
    own = {n for n in vars(Run) if not n.startswith("__")}
    assert not own & set(seen), own & set(seen)


def test_a_wrapping_part_comes_before_the_part_it_wraps():
    order = [base.__name__ for base in Run.__mro__]
    for base in Run.__mro__:
        for name in vars(base).get("WRAPS", ()):
            owner = next(b for b in Run.__mro__[order.index(base.__name__) + 1:] if name in vars(b))
            assert order.index(base.__name__) < order.index(owner.__name__), (name, base, owner)
