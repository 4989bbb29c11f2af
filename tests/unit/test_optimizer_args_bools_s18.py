"""optimizer_args with a true/false/none/null word not written as Python's literal (``amsgrad=false``): sd-scripts'
literal_eval stops on it, and passed on as text it turned the option on. `config check` (and so Settings and
`train`, which read the config the same way) refuse it in one line naming the key and the fix; the kohya_ss
import writes the literal it means, with a warning saying so."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from loratui.cli import cli
from loratui.core.config import ConfigError, coerce_value, field_spec, import_kohya, loads_config
from loratui.core.config.optimizer_args import literal_word, optimizer_arg_problem

AMSGRAD = ("amsgrad=false: write amsgrad=False (values are Python literals, as sd-scripts reads them; 'false' would "
           "be the text 'false', which counts as on)")


@pytest.mark.parametrize("item, literal", [
    ("amsgrad=false", "False"), ("decouple=FALSE", "False"), ("use_bias_correction= False", None),
    ("safeguard_warmup=true", "True"), ("nesterov=True", None), ("foreach=none", "None"), ("foreach=null", "None"),
    ("foreach=NULL", "None"), ("fused=None", None), ("weight_decay=0.01", None), ("mode=x", None),
])
def test_a_bool_word_is_refused_in_one_line_naming_the_key_and_the_fix(item, literal):
    key, _, value = item.partition("=")
    assert literal_word(value) == literal
    problem = optimizer_arg_problem(item)
    if literal is None:
        assert problem is None
        return
    word = value.strip()
    assert problem.startswith(f"{key}={word}: write {key}={literal} (values are Python literals, as sd-scripts "
                              f"reads them; {word!r} would be the text {word!r}")
    assert "\n" not in problem


def test_the_amsgrad_line_and_nones_words():
    assert optimizer_arg_problem("amsgrad=false") == AMSGRAD
    assert optimizer_arg_problem("foreach=null").endswith("'null' would be the text 'null', not None)")
    with pytest.raises(ValueError, match="amsgrad=false: write amsgrad=False"):
        coerce_value(field_spec("optimizer_args", "optimizer"), 'weight_decay=0.01 amsgrad=false')


@pytest.mark.parametrize("optimizer, args, first", [
    ("AdamW", '["amsgrad=false"]', "amsgrad=false: write amsgrad=False"),
    ("Prodigy", '["decouple=false", "use_bias_correction=false", "safeguard_warmup=false"]',
     "decouple=false: write decouple=False"),
    ("Adafactor", '["relative_step=false"]', "relative_step=false: write relative_step=False"),
])
def test_config_check_refuses_it_with_the_file_line_and_key(tmp_path, optimizer, args, first):
    text = f'[optimizer]\noptimizer_type = "{optimizer}"\noptimizer_args = {args}\n'
    with pytest.raises(ConfigError) as err:
        loads_config(text, "c.toml")
    assert str(err.value).startswith(f"c.toml, line 3: optimizer_args: {first} (values are Python literals")
    path = tmp_path / "c.toml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if "optimizer_args" in line]
    assert f"optimizer_args: {first}" in line and line.endswith("which counts as on)")
    # `train` reads the config the same way: refused before any model is loaded (exit 2, as the CLI's main says)
    done = subprocess.run([sys.executable, "-m", "loratui", "train", str(path)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2 and f"optimizer_args: {first}" in done.stderr


def test_python_literals_still_load():
    cfg = loads_config('[optimizer]\noptimizer_type = "AdamW"\noptimizer_args = ["amsgrad=False", "foreach=None", '
                       '"maximize=True"]\n')
    assert cfg.optimizer.optimizer_args == ["amsgrad=False", "foreach=None", "maximize=True"]


def _gui(optimizer, args):
    return {"LoRA_type": "Standard", "pretrained_model_name_or_path": "/models/sd15.safetensors",
            "train_data_dir": "/data/img", "output_dir": "/data/out", "optimizer": optimizer, "lr_scheduler": "cosine",
            "learning_rate": 1.0, "unet_lr": 1.0, "text_encoder_lr": 1.0, "network_dim": 16, "optimizer_args": args}


def test_the_kohya_import_writes_the_literal_with_a_warning():
    cfg, report = import_kohya(_gui("AdamW", "weight_decay=0.01 amsgrad=false"))
    assert cfg.optimizer.optimizer_args == ["weight_decay=0.01", "amsgrad=False"]
    lines = [w for w in report.warnings if w.startswith("optimizer_args:")]
    assert lines == ["optimizer_args: written amsgrad=false as amsgrad=False (values are Python literals, as sd-scripts "
                     "reads them: it stops on these words, and read as text a 'false' would count as on)"]
    cfg, report = import_kohya(_gui("Prodigy", "decouple=false use_bias_correction=TRUE safeguard_warmup=false "
                                               "d_coef=2"))
    assert cfg.optimizer.optimizer_args == ["decouple=False", "use_bias_correction=True", "safeguard_warmup=False",
                                            "d_coef=2"]
    [line] = [w for w in report.warnings if w.startswith("optimizer_args:")]
    assert "decouple=false as decouple=False, use_bias_correction=TRUE as use_bias_correction=True, " in line


def test_the_kohya_import_of_adafactor_false_keeps_it_false():
    cfg, report = import_kohya(_gui("Adafactor", "scale_parameter=false relative_step=false warmup_init=false"))
    assert cfg.optimizer.optimizer_args == ["scale_parameter=False", "relative_step=False", "warmup_init=False"]
    assert not [w for w in report.warnings if "Adafactor" in w]


def test_an_import_with_python_literals_says_nothing_about_them():
    cfg, report = import_kohya(_gui("AdamW", "amsgrad=False weight_decay=0.01"))
    assert cfg.optimizer.optimizer_args == ["amsgrad=False", "weight_decay=0.01"]
    assert not [w for w in report.warnings if "optimizer_args" in w]
