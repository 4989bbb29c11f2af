"""A list key's save edits only the items that changed (h5 item 3): quotes, spacing, commas, comments and the
line layout of every other item stay byte-for-byte, for network_args and every other list field."""

from __future__ import annotations

import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loratui.core.config import load_config, loads_config, save_config, update_config_text
from loratui.core.config.render import toml_value
from loratui.core.config.toml_array_edit import edit_array_text

HEAD = "[model]\npretrained_model_name_or_path = \"m.safetensors\"\n\n[network]\nnetwork_module = \"lycoris.kohya\"\n"
ONE_LINE = HEAD + """network_args = [ "algo = loha" ,'conv_dim=4', "conv_alpha = 2",  "preset=full" ]  # mine\n"""
TWO_LINES = HEAD + ("network_args = [ \"algo = loha\" ,'conv_dim=4', \"conv_alpha = 2\",  \"preset=full\", "
                    "\"algo=loha\",  # trailing comment\n  \"use_tucker=True\" ]\n")
PER_LINE = HEAD + """network_args = [  # lycoris
  "algo=lokr",  # the kind
  'conv_dim=4',
  # alpha below dim
  "conv_alpha = 2",
  "preset=full"
]
"""


def _saved(text: str, items: list[str], field: str = "network_args") -> str:
    cfg = loads_config(text)
    section = "network" if field == "network_args" else "optimizer"
    setattr(getattr(cfg, section), field, items)
    out = update_config_text(text, cfg)
    assert getattr(getattr(loads_config(out), section), field) == items
    return out


# ---------------------------------------------------------------- the hunt's three files


def test_one_changed_item_in_a_one_line_array_changes_only_that_literal():
    items = ["algo = loha", "conv_dim=4", "conv_alpha=3", "preset=full"]
    assert _saved(ONE_LINE, items) == ONE_LINE.replace('"conv_alpha = 2"', '"conv_alpha=3"')


def test_a_two_line_hand_layout_keeps_its_lines():
    items = ["algo = loha", "conv_dim=4", "conv_alpha=3", "preset=full", "algo=loha", "use_tucker=True"]
    assert _saved(TWO_LINES, items) == TWO_LINES.replace('"conv_alpha = 2"', '"conv_alpha=3"')


def test_switching_a_duplicated_algo_keeps_the_comment_beside_the_dropped_item():
    # with_network_arg: the first algo item takes the new value, the second one goes
    out = _saved(TWO_LINES, ["algo=lokr", "conv_dim=4", "conv_alpha = 2", "preset=full", "use_tucker=True"])
    assert out == HEAD + ("network_args = [ \"algo=lokr\" ,'conv_dim=4', \"conv_alpha = 2\",  \"preset=full\",  "
                          "# trailing comment\n  \"use_tucker=True\" ]\n")


def test_an_item_per_line_array_changes_one_line_adds_one_and_drops_one():
    assert _saved(PER_LINE, ["algo=lokr", "conv_dim=8", "conv_alpha = 2", "preset=full"]) == \
        PER_LINE.replace("'conv_dim=4'", "'conv_dim=8'")
    added = _saved(PER_LINE, ["algo=lokr", "conv_dim=4", "conv_alpha = 2", "preset=full", "dropout=0.1"])
    assert added == PER_LINE.replace('  "preset=full"\n', '  "preset=full",\n  "dropout=0.1"\n')
    dropped = _saved(PER_LINE, ["algo=lokr", "conv_dim=4", "conv_alpha = 2"])
    assert dropped == PER_LINE.replace('  "conv_alpha = 2",\n  "preset=full"\n', '  "conv_alpha = 2"\n')
    first_gone = _saved(PER_LINE, ["conv_dim=4", "conv_alpha = 2", "preset=full"])
    assert first_gone == PER_LINE.replace('  "algo=lokr",  # the kind\n', "")


def test_an_added_item_takes_its_neighbours_quotes_and_separator():
    text = HEAD + "network_args = [ 'algo=loha' ,'preset=full' ]\n"
    assert _saved(text, ["algo=loha", "preset=full", "conv_dim=4"]) == \
        text.replace("'preset=full' ]", "'preset=full' ,'conv_dim=4' ]")
    assert _saved(text, ["algo=loha", "preset=full", "a='x'"]) == \
        text.replace("'preset=full' ]", "'preset=full' ,\"a='x'\" ]")  # a quote cannot be 'literal'


def test_every_list_field_is_edited_in_place(tmp_path):
    path = tmp_path / "c.toml"
    text = ("[dataset]\nresolution = [ 512 ,768 ]  # w, h\n\n[optimizer]\noptimizer_args = [\n"
            "    'weight_decay=0.01' ,  # wd\n    \"betas=0.9,0.99\",\n]\n")
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path)
    cfg.dataset.resolution = (512, 1024)
    cfg.optimizer.optimizer_args = ["weight_decay=0.05", "betas=0.9,0.99", "eps=1e-8"]
    assert save_config(cfg, path)
    assert path.read_text(encoding="utf-8") == (
        "[dataset]\nresolution = [ 512 ,1024 ]  # w, h\n\n[optimizer]\noptimizer_args = [\n"
        "    'weight_decay=0.05' ,  # wd\n    \"betas=0.9,0.99\",\n    \"eps=1e-8\",\n]\n")


def test_an_unchanged_list_is_not_written(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(TWO_LINES, encoding="utf-8")
    assert not save_config(load_config(path), path)


def test_reordered_items_fall_back_to_the_full_layout_and_keep_the_comment_after_the_array():
    assert edit_array_text('["a=1", "b=2"]', ["b=2", "a=1"]) is None
    assert _saved(ONE_LINE, ["preset=full", "algo = loha", "conv_dim=4", "conv_alpha = 2"]) == \
        ONE_LINE.replace("""[ "algo = loha" ,'conv_dim=4', "conv_alpha = 2",  "preset=full" ]""",
                         '["preset=full", "algo = loha", "conv_dim=4", "conv_alpha = 2"]')


def test_arrays_that_are_not_plain_are_left_to_the_full_rewrite():
    assert edit_array_text('[["a"], "b"]', [["a"], "c"]) is None
    assert edit_array_text('[{a = 1}]', []) is None
    assert edit_array_text('["""a""", "b"]', ["a", "c"]) is None
    assert edit_array_text("[]", ["a"]) is None
    assert edit_array_text("[ 512 ,768 ]", [512, 1024]) == "[ 512 ,1024 ]"


def test_strings_holding_commas_hashes_and_brackets_are_read_whole():
    text = """[ "a=#1, [x]" , 'b=\\n' ,"c=\\"q\\"" ]"""
    assert edit_array_text(text, ["a=#1, [x]", "b=2", 'c="q"']) == """[ "a=#1, [x]" , 'b=2' ,"c=\\"q\\"" ]"""


# ---------------------------------------------------------------- property


_CHARS = st.sampled_from(list("abz09 _.,#[]'\"\\=é"))
_SEPS = [", ", " ,", ",", ",\n  ", ",  # one, 'x' [y]\n  ", ",\n  # above\n  ", " ,\n\t", ",  # two\n\n  ",
         ",\n\n  "]
_OPENS = ["", " ", "  # open note\n  ", "\n  ", "\n"]
_TAILS = ["", ",", " ", ",\n", "\n", ",  # last\n", "  # last\n"]
_COMMENTS = ["# one, 'x' [y]", "# above", "# two", "# open note", "# last"]  # no literal can hold one


def _literal(value: str, literal_style: bool) -> str:
    if literal_style and "'" not in value and not any(ord(c) < 0x20 for c in value):
        return f"'{value}'"
    return toml_value(value)


def _layout(literals: list[str], opening: str, seps: list[str], tail: str) -> tuple[str, list[int]]:
    """The array text and the line number of each literal."""
    text, lines = "[" + opening, []
    for k, literal in enumerate(literals):
        lines.append(text.count("\n"))
        text += literal + (seps[k] if k < len(literals) - 1 else tail)
    return text + "]", lines


@st.composite
def _cases(draw):
    n = draw(st.integers(1, 6))
    old = [f"k{k}={draw(st.text(_CHARS, max_size=6))}" if draw(st.booleans()) else f"w{k}" for k in range(n)]
    styles = [draw(st.booleans()) for _ in old]
    opening = draw(st.sampled_from(_OPENS))
    seps = [draw(st.sampled_from(_SEPS)) for _ in range(n - 1)]
    tail = draw(st.sampled_from(_TAILS))
    edits = [draw(st.sampled_from(["keep", "change", "drop"] if "=" in v else ["keep", "drop"])) for v in old]
    new, changed = [], {}
    for k, (value, edit) in enumerate(zip(old, edits)):
        if edit == "change":
            value = value.split("=")[0] + "=" + draw(st.text(_CHARS, min_size=1, max_size=6)) + "!"
            changed[k] = value
        if edit != "drop":
            new.append(value)
    for m in range(draw(st.integers(0, 2))):
        new.insert(draw(st.integers(0, len(new))), f"n{m}={draw(st.text(_CHARS, max_size=4))}")
    return old, styles, opening, seps, tail, edits, new, changed


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_cases())
def test_random_layouts_and_edits_parse_to_the_new_list_and_keep_untouched_lines(case):
    old, styles, opening, seps, tail, edits, new, changed = case
    literals = [_literal(v, s) for v, s in zip(old, styles)]
    text, line_of = _layout(literals, opening, seps, tail)
    assert tomllib.loads("v = " + text)["v"] == old
    assert edit_array_text(text, old) == text  # nothing changed: not a byte moves

    out = edit_array_text(text, new)
    assert out is not None, (text, new)
    assert tomllib.loads("v = " + out)["v"] == new

    if all(e != "drop" for e in edits) and len(new) == len(old):  # changes only: exactly those literals
        expected = [_literal(changed[k], lit.startswith("'")) if k in changed else lit
                    for k, lit in enumerate(literals)]
        assert out == _layout(expected, opening, seps, tail)[0]

    # every line holding no edited item (nor the surviving neighbour of a dropped or added one, whose
    # comma or line moves) is kept as it was; blank lines between a dropped last item and its neighbour go
    survivors = [k for k, e in enumerate(edits) if e != "drop"]
    touched = {k for k, e in enumerate(edits) if e != "keep"}
    for k in [k for k, e in enumerate(edits) if e == "drop"]:
        touched |= {max((s for s in survivors if s < k), default=-1), min((s for s in survivors if s > k), default=-1)}
    from_old = iter(survivors)
    origin = [None if v.startswith("n") else next(from_old) for v in new]  # inserted items start with "n"
    for j, k in enumerate(origin):
        if k is None:
            before = [o for o in origin[:j] if o is not None]
            after = [o for o in origin[j:] if o is not None]
            touched.add(before[-1] if before else after[0] if after else -1)
    text_lines = text.split("\n")
    kept_lines = [line for number, line in enumerate(text_lines)
                  if line.strip() and not any(line_of[k] == number for k in touched)]
    out_lines = iter(out.split("\n"))
    assert all(any(line == o for o in out_lines) for line in kept_lines), (text, out)

    # a comment goes only with a line whose items all went
    must_keep = {c: 0 for c in _COMMENTS}
    for number, line in enumerate(text_lines):
        on_line = [k for k in range(len(old)) if line_of[k] == number]
        if not on_line or any(edits[k] != "drop" for k in on_line):
            for comment in _COMMENTS:
                must_keep[comment] += line.count(comment)
    assert all(out.count(c) >= count for c, count in must_keep.items()), (text, out)


@st.composite
def _per_line_cases(draw):
    """An array with one item per line (a comment line above some, a comment after some) and an edit."""
    n = draw(st.integers(1, 6))
    items = [dict(value=f"k{k}={draw(st.text(_CHARS, max_size=4))}", quote=draw(st.booleans()),
                  indent=draw(st.sampled_from(["  ", "\t", "    "])), above=draw(st.booleans()),
                  note=draw(st.booleans()), edit=draw(st.sampled_from(["keep", "change", "drop"])))
             for k in range(n)]
    for k, item in enumerate(items):
        item["new"] = f"k{k}=new{k}" if item["edit"] == "change" else item["value"]
    inserts = draw(st.lists(st.integers(0, n), max_size=3))  # index of the old item each goes after (0: head)
    return items, inserts, draw(st.booleans()), draw(st.sampled_from(["\n", "  # open\n"]))


def _per_line_text(rows: list[tuple[str, str]], trailing: bool, opening: str) -> str:
    """rows: ("above", text) comment lines and ("item", indent, literal, note) lines, commas put here."""
    items = [k for k, row in enumerate(rows) if row[0] == "item"]
    out = "[" + opening
    for k, row in enumerate(rows):
        if row[0] == "above":
            out += row[1] + "\n"
            continue
        _, indent, literal, note = row
        comma = "," if k != items[-1] or trailing else ""
        out += indent + literal + comma + (f"  # note{note}" if note is not None else "") + "\n"
    return out + "]"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_per_line_cases())
def test_one_item_per_line_edits_whole_lines_only(case):
    items, inserts, trailing, opening = case
    old_rows = []
    for k, item in enumerate(items):
        if item["above"]:
            old_rows.append(("above", f"{item['indent']}# about k{k}"))
        old_rows.append(("item", item["indent"], _literal(item["value"], item["quote"]), k if item["note"] else None))
    text = _per_line_text(old_rows, trailing, opening)

    # the new list: survivors in order, insert number m after the m-th... old item (0: at the head)
    survivors = [k for k, item in enumerate(items) if item["edit"] != "drop"]
    new_rows, new, like, pending = [], [], None, sorted(inserts)
    # an item added after a dropped one follows the survivor before it (or leads the list)
    anchor = {k + 1: max((s for s in survivors if s <= k), default=None) for k in range(len(items))}
    anchor[0] = None
    after = {k: [m for m, at in enumerate(pending) if anchor[at] == k] for k in range(len(items))}
    head = [m for m, at in enumerate(pending) if anchor[at] is None]
    if not survivors:  # nothing kept: every new item goes after the last old one
        after = {k: ([] if k < len(items) - 1 else list(range(len(pending)))) for k in range(len(items))}
        head = []
    for k, item in enumerate(items):
        if item["above"]:
            new_rows.append(("above", f"{item['indent']}# about k{k}"))
        kept = item["edit"] != "drop"
        literal = _literal(item["value"], item["quote"])
        quote = literal.startswith("'")  # the style the file has: a value with ' is never 'literal'
        if kept and k == survivors[0] and head:
            like = literal
            for m in head:
                value = f"n{m}=x"
                new_rows.append(("item", item["indent"], _literal(value, like.startswith("'")), None))
                new.append(value)
        if kept:
            literal = _literal(item["new"], quote)
            new_rows.append(("item", item["indent"], literal, k if item["note"] else None))
            new.append(item["new"])
        like = literal
        for m in after[k]:
            value = f"n{m}=x"
            like = _literal(value, like.startswith("'"))
            new_rows.append(("item", item["indent"], like, None))
            new.append(value)
    if not new:
        return  # nothing left: the array is emptied (covered by the deterministic tests)
    out = edit_array_text(text, new)
    assert out == _per_line_text(new_rows, trailing, opening), (text, new)
