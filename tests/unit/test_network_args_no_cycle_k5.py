"""core.config's network_args and network_args_edit import one way only (r1 item 5): LycorisArg is plain data,
core.config's LYCORIS_ARGS (network_args_edit.EDIT_ARGS) adds the list-editing methods, and the plain
functions are exported from core.config too."""

from __future__ import annotations

import ast
from pathlib import Path

import loratui.core.config as config
from loratui.core.config import network_args, network_args_edit


def imported_modules(module) -> set[str]:
    """Every module ``module`` imports from, at the top or inside a function (a lazy import)."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_network_args_never_imports_its_edit_module():
    assert "loratui.core.config.network_args_edit" not in imported_modules(network_args)
    assert "loratui.core.config.network_args" in imported_modules(network_args_edit)


def test_the_arguments_keep_their_methods_and_data():
    assert set(config.LYCORIS_ARGS) == set(network_args.ARGS)
    for name, arg in config.LYCORIS_ARGS.items():
        plain = network_args.ARGS[name]
        assert isinstance(arg, network_args.LycorisArg)
        assert (arg.kind, arg.default, arg.help, arg.algos, arg.min, arg.max) == \
            (plain.kind, plain.default, plain.help, plain.algos, plain.min, plain.max)
        assert arg.choices == plain.choices
    items = ["algo=lokr", "factor = 4"]
    factor = config.LYCORIS_ARGS["factor"]
    assert factor.shown_in(items) == config.network_arg_shown(items, "factor") == "4"
    assert factor.position_in(items) == config.network_arg_position(items, "factor") == 1
    assert factor.written_into(items, "8") == config.with_network_arg(items, "factor", "8") == ["algo=lokr", "factor=8"]
    assert config.network_arg_value(items, "factor") == "4"
    assert network_args.ARGS["conv_dim"].problem("x") == "conv_dim=x must be an integer"
