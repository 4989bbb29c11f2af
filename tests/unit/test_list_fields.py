"""List-of-strings fields (network_args, optimizer_args): the one-line text a Settings field shows reads
back to the same list (an element holding a space is quoted); optimizer_args' key=value rule is core's,
so config check, the field and train say the same line; a save keeps a multi-line array's comments."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from loratui.core.config import (
    FIELDS, coerce_value, config_file_problems, field_spec, load_config, loads_config, save_config,
    update_config_text,
)
from loratui.core.errors import LoratuiError

LIST_FIELDS = [spec for spec in FIELDS.values() if spec.kind == "str_list"]
OPTIMIZER_ARGS = field_spec("optimizer_args", "optimizer")


def test_the_list_fields_are_the_ones_this_file_covers():
    assert {spec.name for spec in LIST_FIELDS} == {"network_args", "optimizer_args"}


def test_an_element_with_spaces_is_shown_quoted_and_reads_back_whole():
    value = ["betas=(0.9, 0.99)", "weight_decay=0.1"]
    text = OPTIMIZER_ARGS.typed_text(value)
    assert text == '"betas=(0.9, 0.99)" weight_decay=0.1'
    assert coerce_value(OPTIMIZER_ARGS, text) == value
    edited = text[:-1] + "2"  # the tester's edit: the last character
    assert coerce_value(OPTIMIZER_ARGS, edited) == ["betas=(0.9, 0.99)", "weight_decay=0.2"]


def test_plain_elements_are_shown_as_before():
    assert OPTIMIZER_ARGS.typed_text(["weight_decay=0.01", "betas=0.9,0.99"]) == "weight_decay=0.01 betas=0.9,0.99"
    assert coerce_value(OPTIMIZER_ARGS, "weight_decay=0.01 betas=0.9,0.99") == ["weight_decay=0.01", "betas=0.9,0.99"]


def test_quotes_in_a_network_arg_round_trip():
    spec = field_spec("network_args", "network")
    for value in (['algo="loha"', "preset=full"], ["x='a b'", 'y="c d"'], ["it's \"both\" \\ here"], [""]):
        assert coerce_value(spec, spec.typed_text(value)) == value, value


@pytest.mark.parametrize("spec", LIST_FIELDS, ids=lambda s: s.name)
@settings(max_examples=150, deadline=None)
@given(items=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12), max_size=4))
def test_every_list_field_round_trips_any_text(spec, items):
    if spec.name == "optimizer_args":
        items = [f"k{i}={item}" for i, item in enumerate(items)]
        from loratui.core.config.optimizer_args import optimizer_arg_problem

        assume(all(optimizer_arg_problem(item) is None for item in items))  # what train would refuse is refused
    assert coerce_value(spec, spec.typed_text(items)) == items


def test_an_unclosed_quote_is_a_field_problem_naming_it():
    for text in ('"betas=(0.9, 0.99)', "a='b", "a=b\\"):
        with pytest.raises(ValueError, match="a quote is not closed in .*: close it") as info:
            coerce_value(OPTIMIZER_ARGS, text)
        assert "\n" not in str(info.value)


def test_the_settings_field_uses_the_same_text_and_is_not_changed_when_untouched():
    from loratui.tui.widgets.config_field import check_text, value_text

    value = ["betas=(0.9, 0.99)", "weight_decay=0.1"]
    assert check_text(OPTIMIZER_ARGS, value_text(OPTIMIZER_ARGS, value)) == (value, None)
    assert check_text(OPTIMIZER_ARGS, '"betas=(0.9, 0.99)')[1].startswith("optimizer_args: a quote is not closed")


# ---- optimizer_args: key=value, one rule in core ------------------------------------------------------

BAD_ARG = "'weight_decay 0.01' is not key=value (e.g. \"weight_decay=0.01\")"


def test_config_check_reports_what_train_refuses(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[optimizer]\noptimizer_args = ["weight_decay 0.01"]\n', encoding="utf-8")
    _, problems = config_file_problems(path)
    assert problems[0] == f"{path}, line 2: optimizer_args: {BAD_ARG}"


def test_the_field_says_the_same_line():
    from loratui.tui.widgets.config_field import check_text

    with pytest.raises(ValueError) as info:
        coerce_value(OPTIMIZER_ARGS, ["weight_decay 0.01"])
    assert str(info.value) == BAD_ARG
    assert check_text(OPTIMIZER_ARGS, '"weight_decay 0.01"')[1] == f"optimizer_args: {BAD_ARG}"
    for bad in (["=0.1"], ["weight_decay"]):
        with pytest.raises(ValueError, match="is not key=value"):
            coerce_value(OPTIMIZER_ARGS, bad)


def test_train_says_the_same_line():
    pytest.importorskip("torch")
    from loratui.engine.optim import parse_optimizer_args

    with pytest.raises(LoratuiError) as info:
        parse_optimizer_args(["weight_decay 0.01"])
    assert str(info.value) == f"optimizer.optimizer_args: {BAD_ARG}"
    assert parse_optimizer_args(["betas=(0.9, 0.99)", "mode=x"]) == {"betas": (0.9, 0.99), "mode": "x"}
    assert parse_optimizer_args("weight_decay=0.01 eps=1e-8") == {"weight_decay": 0.01, "eps": 1e-8}


# ---- saving a multi-line array ------------------------------------------------------------------------

MULTILINE = """\
[optimizer]
optimizer_args = [  # my args
  # decay: keep it small
  "weight_decay=0.01",  # wd
  'betas=0.9,0.99',
  "eps=1e-8",  # eps
  # more later
]  # the end
learning_rate = 1e-4
"""


def _saved(text: str, args: list[str]) -> str:
    cfg = loads_config(text)
    cfg.optimizer.optimizer_args = args
    out = update_config_text(text, cfg)
    assert loads_config(out).optimizer.optimizer_args == args
    return out


def test_an_appended_element_keeps_the_array_multi_line_and_its_comments():
    out = _saved(MULTILINE, ["weight_decay=0.01", "betas=0.9,0.99", "eps=1e-8", "foo=(1, 2)"])
    assert out == MULTILINE.replace('  "eps=1e-8",  # eps\n', '  "eps=1e-8",  # eps\n  "foo=(1, 2)",\n')


def test_a_changed_value_keeps_its_keys_comment_and_a_removed_element_drops_its_own():
    out = _saved(MULTILINE, ["betas=0.9,0.99", "weight_decay=0.1"])
    assert out == """\
[optimizer]
optimizer_args = [  # my args
  'betas=0.9,0.99',
  # decay: keep it small
  "weight_decay=0.1",  # wd
  # more later
]  # the end
learning_rate = 1e-4
"""


def test_the_testers_file_keeps_wd_through_a_settings_save(tmp_path):
    path = tmp_path / "c.toml"
    text = '[optimizer]\noptimizer_args = [\n  "weight_decay=0.01",  # wd\n  "betas=0.9,0.99",\n]\n'
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path)
    cfg.optimizer.optimizer_args = [*cfg.optimizer.optimizer_args, "eps=1e-8"]
    assert save_config(cfg, path)
    assert path.read_text(encoding="utf-8") == text.replace('"betas=0.9,0.99",\n', '"betas=0.9,0.99",\n  "eps=1e-8",\n')


def test_a_one_line_array_stays_one_line():
    text = '[optimizer]\noptimizer_args = ["weight_decay=0.01"]  # wd\n'
    assert _saved(text, ["weight_decay=0.02"]) == '[optimizer]\noptimizer_args = ["weight_decay=0.02"]  # wd\n'


def test_an_unchanged_element_keeps_its_own_comment_before_a_changed_one_takes_its_keys():
    text = '[optimizer]\noptimizer_args = [\n  "a=1",  # one\n  "a=2",  # two\n]\n'
    assert _saved(text, ["a=3", "a=1"]) == '[optimizer]\noptimizer_args = [\n  "a=3",  # two\n  "a=1",  # one\n]\n'
