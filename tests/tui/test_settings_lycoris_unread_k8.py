"""Switching network_args' algo leaves keys the new algo does not read hidden in the list; Settings names them
(the heading and a notification with the key that drops them), drops them only on that key, and ctrl+z on
network_args puts them back (Pilot, 80x24; k8 item 2)."""

from __future__ import annotations

from test_settings_form import field, form, goto, run, screen_text

LOKR = """\
[model]
pretrained_model_name_or_path = "model/base.safetensors"

[dataset]
train_data_dir = "img"

[network]
network_dim = 8
network_module = "lycoris.kohya"
network_args = [ "algo=lokr", "factor=4", "conv_dim=8", "preset=full" ]
"""


def args(app) -> list[str]:
    return field(app, "network_args").value


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def test_hidden_keys_are_named_and_dropped_only_on_the_key(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "algo")
        await pilot.press("right")  # lokr -> full: conv_dim and factor are read by neither
        await pilot.pause()
        assert field(app, "network_args.algo").value == "full"
        assert args(app) == ["algo=full", "factor=4", "conv_dim=8", "preset=full"]  # nothing dropped unasked
        heading = form(app).lycoris.heading.render().plain
        assert "hidden but set in network_args: conv_dim, factor; they block training: ctrl+x drops them" in heading
        assert any("training refuses conv_dim, factor" in n and "ctrl+x drops them" in n for n in notices(app))
        assert any("conv_dim does nothing with algo=full" in p for p in form(app).problems)
        assert "hidden but set" in screen_text(app)  # the heading shows at 80x24
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert args(app) == ["algo=full", "preset=full"]
        assert not any("does nothing" in p for p in form(app).problems)
        assert "hidden but set" not in form(app).lycoris.heading.render().plain
        assert field(app, "network_args").changed  # an edit like any other: saved with ctrl+s, reverted with ctrl+z
        await goto(pilot, "network_args")
        await pilot.press("ctrl+z")  # settings.revert_field
        await pilot.pause()
        assert args(app) == ["algo=lokr", "factor=4", "conv_dim=8", "preset=full"]
        assert field(app, "network_args.algo").value == "lokr" and not form(app).problems

    run(tmp_path, scenario, config=LOKR)


def test_no_notification_when_the_new_algo_reads_every_key_set(tmp_path):
    async def scenario(app, pilot, root):
        await goto(pilot, "algo")
        await pilot.press("left")  # lokr -> loha: conv_dim is read, factor is not
        await pilot.pause()
        assert [n for n in notices(app) if "training refuses factor" in n]
        before = len(notices(app))
        await pilot.press("left")  # loha -> locon: factor still refused, so said again
        await pilot.pause()
        assert len(notices(app)) == before + 1
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert args(app) == ["algo=locon", "conv_dim=8", "preset=full"] or args(app) == ["conv_dim=8", "preset=full"]
        await pilot.press("right")  # locon -> loha reads conv_dim: nothing to say
        await pilot.pause()
        assert not any("training refuses" in n for n in notices(app)[before + 2:])

    run(tmp_path, scenario, config=LOKR)
