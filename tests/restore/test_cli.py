"""``advgen restore``: photo names are simulated and scored, files are restored, errors are one line."""
import numpy as np
from PIL import Image

from advgen import cli


def test_restore_photo_with_a_baseline(tmp_path, capsys):
    out = tmp_path / "r.png"
    assert cli.main(["restore", "chelsea", "--task", "inpaint", "--method", "biharmonic", "--size", "32",
                     "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "PSNR against the clean image" in text and out.exists()
    assert np.asarray(Image.open(out)).shape == (32, 32, 3)


def test_restore_file_with_dip_and_mask(tmp_path, capsys):
    img = (np.random.default_rng(0).random((22, 36, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    mask = np.full((22, 36), 255, np.uint8)
    mask[5:10, 5:10] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    assert cli.main(["restore", str(tmp_path / "in.png"), "--task", "inpaint", "--mask", str(tmp_path / "mask.png"),
                     "--method", "dip", "--steps", "3", "--channels", "4", "--depth", "2",
                     "--out", str(out)]) == 0
    assert "cropped from 22×36 to 20×36 (a multiple of 4)" in capsys.readouterr().out
    assert np.asarray(Image.open(out)).shape == (20, 36, 3)


def test_restore_errors(tmp_path, capsys):
    assert cli.main(["restore", "astronaut", "--task", "sr", "--method", "tv"]) == 2
    assert "--method for --task sr must be one of dip, bicubic" in capsys.readouterr().err
    assert cli.main(["restore", str(tmp_path / "missing.png"), "--task", "denoise", "--method", "tv"]) == 2
    assert "no such file" in capsys.readouterr().err
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "g.png")
    assert cli.main(["restore", str(tmp_path / "g.png"), "--task", "inpaint", "--method", "biharmonic"]) == 2
    assert "needs --mask" in capsys.readouterr().err
