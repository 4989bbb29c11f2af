"""The captioners' errors keep the CLI's words in the CLI and name the Caption screen's fields in the
app (services.caption_models.app_wording); the app's model check says when a download cannot happen
offline, and when a repo id is on disk already."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.wd14_tiny import make_wd14_model

from loratui.captioners import blip_load, store, wd14
from loratui.core.errors import LoratuiError
from loratui.tui.services import caption_models
from loratui.tui.services.caption_models import app_wording, check_model_for_app
from loratui.tui.services.caption_runs import CaptionRun, CaptionRunner


@pytest.fixture
def places(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def cli_error(fn, *args) -> str:
    with pytest.raises(LoratuiError) as caught:
        fn(*args)
    return str(caught.value)


def assert_app_worded(cli: str, *wanted: str) -> str:
    app = app_wording(cli)
    assert "--model" not in app and "--download" not in app and "pass " not in app, app
    for text in wanted:
        assert text in app, app
    return app


def test_model_errors_name_the_flags_in_the_cli_and_the_fields_in_the_app(places):
    missing = cli_error(wd14.find_model_dir, str(places / "nowhere"))
    assert "or --download REPO_ID" in missing  # the CLI's wording stays
    assert_app_worded(missing, "no such model folder", "in the Model folder field, or a repo id in Download")

    make_wd14_model(places / "two" / "a")
    make_wd14_model(places / "two" / "b")
    several = cli_error(wd14.find_model_dir, str(places / "two"))
    assert "pass one of them with --model" in several
    assert_app_worded(several, "type one of them in the Model folder field")

    offline = cli_error(store.download_wd14, "Someone/wd-tagger")  # the suite runs with HF_HUB_OFFLINE=1
    assert offline.endswith("(or pass --model FOLDER)")
    assert_app_worded(offline, "HF_HUB_OFFLINE is set", "place them in",
                      "(or type that folder in the Model folder field)")
    assert app_wording(cli_error(store.download_wd14, "not-a-repo-id")).startswith("Download not-a-repo-id: ")

    hub = cli_error(blip_load.download_model, "Someone/blip")
    assert "pass --model DIR" in hub
    assert_app_worded(hub, "and type DIR in the Model folder field")
    absent = cli_error(blip_load.resolve_model_dir, str(places / "no-blip"))
    assert_app_worded(absent, "(type a local Hugging Face folder, or a hub id such as ")

    tagger = make_wd14_model(places / "tagger")
    not_blip = cli_error(blip_load.read_config, tagger)
    assert "use `loratui caption wd14`" in not_blip
    assert app_wording(not_blip).endswith("is a WD14 tagger: ctrl+b switches to WD14")


def test_a_failed_run_reports_the_error_in_the_apps_words():
    runner = CaptionRunner.__new__(CaptionRunner)  # _apply needs no app
    run = CaptionRun("wd14", ["python", "-m", "loratui", "caption", "wd14", "img", "--download", "a/b"])
    runner._apply(run, {"event": "error", "message": "cannot download a/b (HF_HUB_OFFLINE is set): download "
                        "model.onnx and selected_tags.csv from https://huggingface.co/a/b and place them in /s "
                        "(or pass --model FOLDER)"})
    assert run.error.endswith("(or type that folder in the Model folder field)")
    stderr_only = CaptionRun("wd14", [])
    stderr_only.stderr_tail.append("Error: caption wd14: pass --model FOLDER (with model.onnx + selected_tags.csv) "
                                   "or --download REPO_ID")
    stderr_only.exit_code = 2
    assert runner._end_phase(stderr_only) == "failed"
    assert "--model" not in stderr_only.error and "Model folder field" in stderr_only.error


def test_the_app_check_of_a_download_offline_and_cached(places, monkeypatch):
    with pytest.raises(LoratuiError, match=r"^offline \(HF_HUB_OFFLINE is set\): cannot download it; clear "
                                           r"Download .* restart loratui without HF_HUB_OFFLINE$"):
        check_model_for_app("wd14", "", "SmilingWolf/wd-swinv2-tagger-v3")
    make_wd14_model(places / "store" / "wd14" / "SmilingWolf__wd-swinv2-tagger-v3")
    line = check_model_for_app("wd14", "", "SmilingWolf/wd-swinv2-tagger-v3")
    assert line.startswith("SmilingWolf/wd-swinv2-tagger-v3 is downloaded already: uses ")

    with pytest.raises(LoratuiError, match="offline"):
        check_model_for_app("blip", "", "Tiny/blip")
    repo = places / "hf" / "models--Tiny--blip"
    snapshot = repo / "snapshots" / "r1"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({"model_type": "blip"}))
    (snapshot / "model.safetensors").write_bytes((2).to_bytes(8, "little") + b"{}")  # whole (weight_check)
    (snapshot / "vocab.txt").write_text("a\n")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("r1")
    assert check_model_for_app("blip", "", "Tiny/blip").endswith(f"uses {snapshot}")

    # online: the promise to download, as before
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    assert caption_models.hub_offline() is None
    assert "will download Other/tagger" in check_model_for_app("wd14", "", "Other/tagger")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # set some other way
    assert caption_models.hub_offline() == "HF_HUB_OFFLINE"


def test_the_app_check_names_the_other_captioner_and_where_models_go(places, monkeypatch):
    tagger = make_wd14_model(places / "tagger")
    with pytest.raises(LoratuiError, match="^this is a WD14 tagger, not a BLIP / BLIP-2 / GIT model: ctrl\\+b "
                                           "switches to WD14$"):
        check_model_for_app("blip", str(tagger))
    blip = places / "blip"
    blip.mkdir()
    (blip / "config.json").write_text(json.dumps({"model_type": "git"}))
    with pytest.raises(LoratuiError, match="ctrl\\+b switches to BLIP$"):
        check_model_for_app("wd14", str(blip))
    with pytest.raises(LoratuiError, match="no weights"):  # the right captioner: its own check
        check_model_for_app("blip", str(blip))
    # where to put one: through the variable that moved the store, else under ~/.cache
    with pytest.raises(LoratuiError, match=r"^no model chosen: .* in \$LORATUI_MODEL_STORE/wd14/NAME/$"):
        check_model_for_app("wd14", "  ")
    monkeypatch.delenv("LORATUI_MODEL_STORE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(places / "cache"))
    with pytest.raises(LoratuiError, match=r"model folder in \$XDG_CACHE_HOME/loratui/models/blip/NAME/$"):
        check_model_for_app("blip", "")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(places))
    with pytest.raises(LoratuiError, match=r"^no model chosen: .* in ~/.cache/loratui/models/wd14/NAME/$"):
        check_model_for_app("wd14", "")
    assert Path(places / "store").exists() is False  # a check creates nothing
