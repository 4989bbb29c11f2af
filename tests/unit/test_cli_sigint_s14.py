"""A Ctrl-C that lands inside an import (numpy, diffusers) can surface as another exception (RecursionError,
diffusers' "Failed to import ..."): after a SIGINT, any failure is the interrupt (exit 130, the usual line, no crash
log), not "internal error" with exit 1 (the h2 hunt's `lora convert` finding). Run in a subprocess: the handler
is a process-wide signal handler."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# a command that sends itself SIGINT, and then fails the way a library import wrapper turns the interrupt into
# its own error (or, with "none", fails without any interrupt: a real bug)
SCRIPT = textwrap.dedent("""
    import signal, sys, types
    import click
    import loratui.cli as cli
    from loratui.core.errors import LoratuiError

    failure = sys.argv[1]

    @click.command()
    def boom():
        try:
            if failure != "none":
                signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass
        if failure == "loratui":
            raise LoratuiError("x.safetensors: cannot read it as .safetensors (KeyboardInterrupt)")
        raise RuntimeError("Failed to import diffusers.models.autoencoders.autoencoder_kl")

    module = types.ModuleType("fake_boom")
    module.boom = boom
    sys.modules["fake_boom"] = module
    cli.COMMANDS["boom"] = ("fake_boom", "boom", "test")
    try:
        cli.main(["boom"])
    finally:
        print("handler restored:", signal.getsignal(signal.SIGINT) is signal.default_int_handler)
""")


def _run(failure, tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", SCRIPT, failure], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.parametrize("failure, line", [
    ("runtime", "interrupted"),
    # loratui's own error names the file: kept after the interrupt
    ("loratui", "interrupted: x.safetensors: cannot read it as .safetensors (KeyboardInterrupt)"),
])
def test_a_failure_after_sigint_is_the_interrupt(failure, line, tmp_path):
    result = _run(failure, tmp_path)
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == line
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.log"))  # no crash log
    assert "handler restored: True" in result.stdout


def test_without_sigint_the_same_failure_is_still_a_bug(tmp_path):
    result = _run("none", tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("internal error: RuntimeError: Failed to import")
    assert "handler restored: True" in result.stdout


def test_an_earlier_sigint_does_not_make_a_later_failure_the_interrupt(monkeypatch):
    """In-process callers (tests, cli.main twice): _main starts each command with no Ctrl-C seen."""
    import loratui.cli as cli
    from loratui.core.errors import LoratuiError

    monkeypatch.setattr(cli, "_sigint_seen", True)

    def refuse(target):
        raise LoratuiError("no-such-project: does not exist")

    monkeypatch.setattr(cli, "_app_target", refuse)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["anything"])
    assert stopped.value.code == 2


@pytest.mark.parametrize("args, opens", [
    ([], True), (["attach", "out"], True), (["demo"], True), (["demo", "--headless"], False),
    (["train", "x.toml"], False), (["--version"], True),
])
def test_commands_that_open_the_app_keep_pythons_sigint_handler(args, opens):
    import loratui.cli as cli

    assert cli._opens_app(args) is opens
