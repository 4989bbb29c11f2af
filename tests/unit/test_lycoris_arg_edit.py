"""One LyCORIS argument read from and written into a network_args list (core.config LYCORIS_ARGS' methods):
other items and their order kept, the file's own item and list back when a value goes back to the file's."""

from __future__ import annotations

import pytest

from loratui.core.config import LYCORIS_ARGS as ARGS

FILE = ["algo=lokr", "factor = 4", "my_note=keep", 'use_cp="true"', "not key value"]


def test_a_value_is_written_in_place_with_the_key_spelled_as_the_user_did():
    assert ARGS["factor"].written_into(FILE, "8", FILE)[1] == "factor=8"
    assert ARGS["use_tucker"].written_into(FILE, "false", FILE)[3] == "use_cp=false"
    assert ARGS["conv_dim"].written_into(FILE, "8", FILE) == FILE + ["conv_dim=8"]
    assert ARGS["factor"].written_into(FILE, None, FILE) == ["algo=lokr", "my_note=keep", 'use_cp="true"',
                                                             "not key value"]


def test_going_back_to_the_files_value_gives_the_files_list_itself():
    changed = ARGS["factor"].written_into(FILE, "8", FILE)
    assert ARGS["factor"].written_into(changed, "4", FILE) == FILE  # "factor = 4" with its spaces
    removed = ARGS["factor"].written_into(FILE, None, FILE)
    assert ARGS["factor"].written_into(removed, "4", FILE) == FILE  # re-added at the end: same meaning, same list
    assert ARGS["factor"].written_into(removed, "5", FILE, at=1)[1] == "factor=5"  # retyped where it was


@pytest.mark.parametrize(("name", "value"), [("train_norm", "false"), ("algo", "locon"), ("preset", "full"),
                                             ("wd_on_output", "true")])
def test_a_choice_put_back_to_what_the_absent_key_means_leaves_the_key_out(name, value):
    items = ["algo=loha"] if name != "algo" else []
    assert ARGS[name].written_into(items, value, items) == items


def test_decompose_both_is_on_when_present_so_off_removes_it():
    on = ARGS["decompose_both"].written_into(["algo=lokr"], "true", ["algo=lokr"])
    assert on == ["algo=lokr", "decompose_both=true"]
    assert ARGS["decompose_both"].written_into(on, "false", ["algo=lokr"]) == ["algo=lokr"]
    assert ARGS["decompose_both"].shown_in(["decompose_both=false"]) == "true"  # any value turns it on


def test_shown_values_and_problems():
    assert ARGS["algo"].shown_in(["algo=lora"]) == "locon" and ARGS["algo"].shown_in([]) == "locon"
    assert ARGS["use_tucker"].shown_in(FILE) == "true" and ARGS["conv_dim"].shown_in(FILE) is None
    assert ARGS["algo"].choices == ("locon", "loha", "lokr", "full") and "full-lin" in ARGS["preset"].choices
    assert ARGS["conv_dim"].problem("x") == "conv_dim=x must be an integer"
    assert ARGS["rank_dropout"].problem("1.5") == "rank_dropout=1.5 must be from 0 to 1"
    assert ARGS["factor"].used_by("lokr") and not ARGS["factor"].used_by("loha")
    assert ARGS["factor"].position_in(FILE) == 1 and ARGS["conv_dim"].position_in(FILE) is None
