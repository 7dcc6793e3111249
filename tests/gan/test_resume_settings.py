"""Resumes refuse a checkpoint written with other settings, naming them and saying how to go on;
an interrupted command says where its state was saved."""
from __future__ import annotations

import pytest
import torch

from advgen import cli, data, gan, nets, train
from advgen.checkpoint import Interrupted


def _nets():
    torch.manual_seed(0)
    return nets.mlp_generator(hidden=8, layers=2), nets.maxout_discriminator(hidden=8, pieces=2)


@pytest.mark.parametrize("change, named", [
    (dict(lr_g=1e-3), "lr_g=0.0002 there, 0.001 here"),
    (dict(betas=(0.9, 0.999)), "betas=[0.5, 0.999] there, [0.9, 0.999] here"),
    (dict(lr_decay=0.5), "lr_decay=0.0 there, 0.5 here"),
])
def test_gan_resume_refuses_other_learning_rates_and_schedules(tmp_path, change, named):
    mix = data.mixture("ring")
    G, D = _nets()
    gan.train(G, D, mix, steps=2, batch_size=4, checkpoint_dir=tmp_path, progress=False)
    G, D = _nets()
    with pytest.raises(ValueError, match="other settings") as err:
        gan.train(G, D, mix, steps=4, batch_size=4, checkpoint_dir=tmp_path, progress=False, **change)
    assert named in str(err.value) and "to start afresh" in str(err.value)
    G, D = _nets()
    gan.train(G, D, mix, steps=4, batch_size=4, checkpoint_dir=tmp_path, progress=False,
              checkpoint_every=1)  # more steps and another checkpoint interval do resume


def test_fit_resume_names_the_settings_that_differ(tmp_path):
    x, y = torch.rand(8, 1, 4, 4), torch.arange(8) % 2
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 2))
    path = tmp_path / "fit.safetensors"
    train.fit(net, x, y, train.FitConfig(epochs=1, batch_size=4), progress=False, checkpoint=path)
    with pytest.raises(ValueError, match=r"lr=0\.002 there, 0\.01 here.*to start afresh"):
        train.fit(net, x, y, train.FitConfig(epochs=2, batch_size=4, lr=1e-2), progress=False, checkpoint=path)


def test_an_interrupted_command_says_where_it_saved(monkeypatch, capsys):
    def stopped(argv=None):
        raise Interrupted("SIGTERM: saved checkpoint runs/g/checkpoint.safetensors; run again with the same "
                          "checkpoint to resume")

    monkeypatch.setattr(cli, "main", stopped)
    with pytest.raises(SystemExit) as code:
        cli.entry()
    assert code.value.code == 130
    err = capsys.readouterr().err
    assert "saved checkpoint runs/g/checkpoint.safetensors" in err and "delete that checkpoint to start over" in err


def test_checkpoint_every_is_on_the_training_verbs(capsys):
    assert cli.main(["gan", "--checkpoint-every", "0", "--steps", "1"]) == 2
    assert "--checkpoint-every" in capsys.readouterr().err
    assert cli.main(["defend", "--method", "pgd", "--checkpoint-every", "5"]) == 2
    assert "--checkpoint-every needs --checkpoint-dir" in capsys.readouterr().err
