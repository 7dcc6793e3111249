"""Embedded datasets and readers for users' files (IDX, .npz, image folders)."""
import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from advgen import data
from advgen.data import DataError


def test_mnist_split(mnist):
    assert mnist.x_train.shape == (4000, 1, 28, 28) and mnist.x_test.shape == (1000, 1, 28, 28)
    assert mnist.x_train.dtype == torch.float32 and mnist.y_train.dtype == torch.int64
    assert 0 <= float(mnist.x_train.min()) and float(mnist.x_train.max()) == 1.0
    assert mnist.y_train.bincount().tolist() == [400] * 10
    assert mnist.y_test.bincount().tolist() == [100] * 10
    # the split is fixed: train and test are disjoint and reproducible
    again = data.embedded.mnist()
    assert torch.equal(again.x_test, mnist.x_test) and torch.equal(again.y_train, mnist.y_train)
    assert mnist.fingerprint() == again.fingerprint()
    train = {row.numpy().tobytes() for row in mnist.x_train}
    assert not any(row.numpy().tobytes() in train for row in mnist.x_test[:200])


def test_digits_and_lfw():
    d = data.load("digits")
    assert d.x_train.shape[1:] == (1, 8, 8) and len(d.y_train) + len(d.y_test) == 1797
    assert float(d.x_train.max()) == 1.0
    f = data.load("lfw")
    assert f.x_train.shape[1:] == (1, 25, 25) and len(f.y_train) + len(f.y_test) == 200
    assert f.classes == ("non-face", "face") and int(f.y_test.sum()) == 20


@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_photo(name):
    p = data.photo(name)
    assert p.shape[0] == 3 and p.dtype == torch.float32 and 0 <= float(p.min()) <= float(p.max()) <= 1
    assert data.photo(name, gray=True).shape[0] == 1


def test_unknown_names():
    with pytest.raises(ValueError, match="mnist"):
        data.load("cifar10")
    with pytest.raises(ValueError, match="astronaut"):
        data.photo("lena")


def write_idx(path, a: np.ndarray, gz=False):
    code = {np.uint8: 0x08, np.int32: 0x0C}[a.dtype.type]
    dims = np.array(a.shape, ">i4").tobytes()
    raw = bytes([0, 0, code, a.ndim]) + dims + a.astype(a.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_round_trip(tmp_path, gz):
    rng = np.random.default_rng(0)
    xtr, ytr = rng.integers(0, 256, (20, 6, 5), dtype=np.uint8), rng.integers(0, 3, 20).astype(np.uint8)
    xte, yte = rng.integers(0, 256, (7, 6, 5), dtype=np.uint8), rng.integers(0, 3, 7).astype(np.uint8)
    sfx = ".gz" if gz else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{sfx}", xtr, gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{sfx}", ytr, gz)
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{sfx}", xte, gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{sfx}", yte, gz)
    ds = data.load(tmp_path)
    assert ds.x_train.shape == (20, 1, 6, 5)
    np.testing.assert_allclose(ds.x_test[:, 0].numpy(), xte / 255.0, rtol=1e-6)
    assert ds.y_train.tolist() == ytr.tolist()


def test_idx_errors(tmp_path):
    a = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    write_idx(tmp_path / "ok", a)
    assert np.array_equal(data.read_idx(tmp_path / "ok"), a)
    (tmp_path / "short").write_bytes((tmp_path / "ok").read_bytes()[:-7])
    with pytest.raises(DataError, match="short.*truncated"):
        data.read_idx(tmp_path / "short")
    (tmp_path / "junk").write_bytes(b"hello world")
    with pytest.raises(DataError, match="junk.*not an IDX"):
        data.read_idx(tmp_path / "junk")
    (tmp_path / "bad.gz").write_bytes(gzip.compress((tmp_path / "ok").read_bytes())[:-10])
    with pytest.raises(DataError, match="bad.gz"):
        data.read_idx(tmp_path / "bad.gz")
    with pytest.raises(DataError, match="no such file"):
        data.read_idx(tmp_path / "missing")
    with pytest.raises(DataError, match="t10k"):
        write_idx(tmp_path / "train-images-idx3-ubyte", a)
        write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
        data.load(tmp_path)


def test_idx_label_count_mismatch(tmp_path):
    a = np.zeros((4, 3, 3), np.uint8)
    for prefix in ("train", "t10k"):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", a)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="labels-idx1-ubyte.*4 entries"):
        data.load(tmp_path)


def test_npz(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.random((50, 8, 8, 3)).astype(np.float32), np.repeat(np.arange(5), 10)
    np.savez(tmp_path / "mine.npz", x=x, y=y)
    ds = data.load(tmp_path / "mine.npz")
    assert ds.x_train.shape == (40, 3, 8, 8) and len(ds.y_test) == 10
    assert ds.y_test.bincount().tolist() == [2] * 5  # stratified
    np.savez(tmp_path / "split.npz", x_train=x[:30], y_train=y[:30], x_test=x[30:], y_test=y[30:])
    assert len(data.load(str(tmp_path / "split.npz")).y_test) == 20
    np.savez(tmp_path / "nolabels.npz", x=x)
    with pytest.raises(DataError, match="nolabels.npz.*'y'"):
        data.load(tmp_path / "nolabels.npz")
    np.savez(tmp_path / "wrong.npz", x=x, y=y[:10])
    with pytest.raises(DataError, match=r"wrong.npz\[y\].*50"):
        data.load(tmp_path / "wrong.npz")
    np.savez(tmp_path / "range.npz", x=x * 3, y=y)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        data.load(tmp_path / "range.npz")
    np.savez(tmp_path / "flat.npz", x=x.reshape(50, -1), y=y)
    with pytest.raises(DataError, match="shape"):
        data.load(tmp_path / "flat.npz")
    (tmp_path / "trunc.npz").write_bytes((tmp_path / "mine.npz").read_bytes()[:100])
    with pytest.raises(DataError, match="trunc.npz"):
        data.load(tmp_path / "trunc.npz")
    with pytest.raises(DataError, match="no such file"):
        data.load(tmp_path / "absent.npz")


def test_image_folder(tmp_path):
    rng = np.random.default_rng(2)
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    ds = data.load(tmp_path)
    assert ds.classes == ("cat", "dog") and ds.x_train.shape[1:] == (3, 6, 7)
    assert len(ds.y_train) + len(ds.y_test) == 10
    Image.fromarray(np.zeros((9, 9, 3), np.uint8)).save(tmp_path / "dog" / "big.png")
    with pytest.raises(DataError, match="big.png.*size"):
        data.load(tmp_path)
    (tmp_path / "dog" / "big.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="big.png.*not a readable image"):
        data.load(tmp_path)
    (tmp_path / "dog" / "big.png").unlink()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty.*no images"):
        data.load(tmp_path)


# ------------------------------------------------------------------ the split of x, y
def _gappy_npz(tmp_path):
    x = np.random.default_rng(5).random((20, 1, 5, 5)).astype(np.float32)
    y = np.repeat([3, 7], 10)
    np.savez(tmp_path / "gappy.npz", x=x, y=y)
    return tmp_path / "gappy.npz"


def test_split_is_stratified_when_labels_have_gaps(tmp_path):
    ds = data.load(_gappy_npz(tmp_path), test_fraction=0.4)
    assert ds.y_test.bincount(minlength=8)[[3, 7]].tolist() == [4, 4]


def test_split_of_few_samples_is_plain_when_a_part_cannot_hold_every_class(tmp_path):
    x, y = np.random.default_rng(7).random((6, 1, 5, 5)).astype(np.float32), np.arange(6) % 2
    np.savez(tmp_path / "few.npz", x=x, y=y)
    ds = data.load(tmp_path / "few.npz")  # one test sample, two classes: before, scikit-learn's ValueError
    assert len(ds.y_test) == 1 and len(ds.y_train) == 5


# ------------------------------------------------------------------ layout of .npz images
def test_npz_layout_is_given_or_refused_when_ambiguous(tmp_path):
    rng = np.random.default_rng(3)
    nhwc = rng.random((6, 4, 4, 3)).astype(np.float32)  # H = 4 is also a channel count
    y = np.arange(6) % 2
    np.savez(tmp_path / "hwc.npz", x=nhwc, y=y)
    with pytest.raises(DataError, match=r"hwc.npz\[x\].*\(6, 4, 4, 3\).*layout='NCHW' or layout='NHWC'"):
        data.load(tmp_path / "hwc.npz")  # before: read silently as 4 channels of 4×3
    ds = data.load(tmp_path / "hwc.npz", layout="NHWC", test_fraction=0.5)
    assert ds.shape == (3, 4, 4)
    both = torch.cat([ds.x_train, ds.x_test])
    want = torch.from_numpy(nhwc.transpose(0, 3, 1, 2))
    assert sorted(map(bytes, both.numpy())) == sorted(map(bytes, want.numpy()))  # every image, channels first
    np.savez(tmp_path / "chw.npz", x_train=nhwc.transpose(0, 3, 1, 2), y_train=y, x_test=nhwc[:2].transpose(0, 3, 1, 2),
             y_test=y[:2])
    ds = data.load_npz(tmp_path / "chw.npz", layout="NCHW")
    assert torch.equal(ds.x_test, want[:2])
    np.savez(tmp_path / "wide.npz", x=rng.random((6, 10, 9, 9)).astype(np.float32), y=y)  # no channel axis to tell by
    with pytest.raises(DataError, match="layout="):
        data.load(tmp_path / "wide.npz")
    assert data.load(tmp_path / "wide.npz", layout="NCHW").shape == (10, 9, 9)
    with pytest.raises(ValueError, match="layout must be 'NCHW', 'NHWC' or None"):
        data.load(tmp_path / "hwc.npz", layout="HWC")
    with pytest.raises(TypeError, match="layout: not an option for an image folder"):
        (tmp_path / "folder" / "a").mkdir(parents=True)
        data.load(tmp_path / "folder", layout="NHWC")


def test_image_folder_of_tiny_rgb_images_is_channels_first(tmp_path):
    rng = np.random.default_rng(4)
    first = None
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            a = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)  # H = 4: today's guess kept H×W×C
            first = a if first is None else first
            Image.fromarray(a).save(tmp_path / cls / f"{i}.png")
    ds = data.load(tmp_path, test_fraction=0.34)
    assert ds.shape == (3, 4, 4)
    both = torch.cat([ds.x_train, ds.x_test])
    assert any(torch.equal(img, torch.from_numpy(first.transpose(2, 0, 1) / 255.0).float()) for img in both)


# ------------------------------------------------------------------ num_classes= and classes=
def test_num_classes_and_classes_on_npz(tmp_path):
    p = _gappy_npz(tmp_path)
    assert data.load(p).num_classes == 8  # the default: the largest label + 1
    ds = data.load(p, num_classes=10)
    assert ds.num_classes == 10 and ds.classes == tuple("0123456789")
    names = ("a", "b", "c", "three", "d", "e", "f", "seven")
    ds = data.load_npz(p, classes=list(names))
    assert ds.classes == names and set(ds.y_train.tolist()) == {3, 7}
    assert data.load(p, classes=names, num_classes=8).classes == names
    with pytest.raises(ValueError, match="classes must name every label: the labels go up to 7, classes has 2"):
        data.load(p, classes=["three", "seven"])
    with pytest.raises(ValueError, match="num_classes must be at least 8 .the labels go up to 7., got 5"):
        data.load(p, num_classes=5)
    with pytest.raises(ValueError, match="classes has 8 names but num_classes is 9"):
        data.load(p, classes=names, num_classes=9)
    with pytest.raises(ValueError, match="classes must be distinct.*'a'"):
        data.load(p, classes=["a"] * 8)
    with pytest.raises(TypeError, match="classes must be a list of class names"):
        data.load(p, classes="abcdefgh")
    with pytest.raises(TypeError, match="num_classes must be a positive integer"):
        data.load(p, num_classes=8.0)
    with pytest.raises(ValueError, match=r"num_classes must be a positive integer \(at most 1,048,576.*got 0"):
        data.load(p, num_classes=0)


def test_num_classes_and_classes_on_folders(tmp_path):
    rng = np.random.default_rng(6)
    for cls in ("cat", "dog"):
        (tmp_path / "img" / cls).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (5, 5), dtype=np.uint8)).save(tmp_path / "img" / cls / f"{i}.png")
    ds = data.load(tmp_path / "img", classes=["bird", "dog", "cat"])
    assert ds.classes == ("bird", "dog", "cat")
    assert sorted(set(ds.y_train.tolist()) | set(ds.y_test.tolist())) == [1, 2]
    ref = data.load(tmp_path / "img")  # cat = 0, dog = 1: the same images, relabelled cat = 2, dog = 1

    def labelled(d):
        return sorted((bytes(xi.numpy()), int(yi)) for xi, yi in zip(torch.cat([d.x_train, d.x_test]),
                                                                     torch.cat([d.y_train, d.y_test])))
    assert labelled(ds) == sorted((b, 2 - k) for b, k in labelled(ref))
    assert data.load(tmp_path / "img", num_classes=4).classes == ("cat", "dog", "2", "3")
    with pytest.raises(ValueError, match="classes must name every sub-folder.*'dog'"):
        data.load(tmp_path / "img", classes=["cat"])
    with pytest.raises(ValueError, match="num_classes must be at least 2"):
        data.load(tmp_path / "img", num_classes=1)
    idx = tmp_path / "idx"
    idx.mkdir()
    labels = np.array([3, 7, 3, 7], np.uint8)
    for prefix in ("train", "t10k"):
        write_idx(idx / f"{prefix}-images-idx3-ubyte", np.zeros((4, 3, 3), np.uint8))
        write_idx(idx / f"{prefix}-labels-idx1-ubyte", labels)
    assert data.load(idx).num_classes == 8
    assert data.load(idx, num_classes=10).num_classes == 10
    assert data.load_idx_folder(idx, classes=list("abcdefgh")).classes[7] == "h"
    with pytest.raises(TypeError, match="test_fraction: not an option for an IDX folder"):
        data.load(idx, test_fraction=0.5)  # before: silently ignored


# ------------------------------------------------------------------ what a file may ask for
def test_labels_above_the_cap_need_the_caller_to_say_how_many_classes(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, x=np.zeros((6, 2, 2), np.uint8), y=np.array([0, 1, 0, 1, 0, data.MAX_CLASSES]))
    with pytest.raises(data.DataError, match=r"d.npz\[y\]: the labels go up to 100,000; a file's labels must be "
                                             r"below 100,000 \(advgen.data.MAX_CLASSES\) unless num_classes="):
        data.load(p)
    assert data.load(p, num_classes=data.MAX_CLASSES + 1).num_classes == data.MAX_CLASSES + 1  # the caller's say
    with pytest.raises(ValueError, match="num_classes must be at least 100001"):
        data.load(p, num_classes=10)
    with pytest.raises(ValueError, match="the labels go up to 100,000; without classes= they must be below"):
        data.split("s", torch.zeros(6, 1, 2, 2), torch.tensor([0, 1, 0, 1, 0, data.MAX_CLASSES]), n_test=2)


def test_empty_arrays_and_impossible_idx_headers_are_data_errors(tmp_path):
    np.savez(tmp_path / "e.npz", x=np.zeros((0, 2, 2), np.uint8), y=np.zeros(0, np.int64))
    with pytest.raises(data.DataError, match=r"e.npz\[x\]: holds no images"):  # once a bare NumPy ValueError
        data.load(tmp_path / "e.npz")
    raw = bytes([0, 0, 0x08, 3]) + np.array([-1, 2, 2], ">i4").tobytes()
    (tmp_path / "neg").write_bytes(raw)
    with pytest.raises(data.DataError, match="negative dimension"):
        data.read_idx(tmp_path / "neg")
    raw = bytes([0, 0, 0x08, 4]) + np.array([2**16] * 4, ">i4").tobytes()  # 2**64 bytes: np.prod wraps to 0
    (tmp_path / "wrap").write_bytes(raw)
    with pytest.raises(data.DataError, match="truncated or padded"):
        data.read_idx(tmp_path / "wrap")
