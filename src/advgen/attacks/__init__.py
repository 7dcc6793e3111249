"""White-box adversarial attacks and their evaluation.

Every attack is a function ``attack(model, x, y, ..., targeted=False) -> x_adv``: batched, images
N×C×H×W in [0, 1], result clipped to [0, 1]; ``y`` holds true labels (untargeted) or target
labels (``targeted=True``), and ``y=None`` uses the model's predictions. The caller's model and
tensors come back untouched; random starts take a ``seed``. See :mod:`advgen.attacks.base`.

>>> from advgen import attacks, data, zoo
>>> model, ds = zoo.load("mnist-cnn"), data.load("mnist")
>>> x, y = ds.x_test[:20], ds.y_test[:20]
>>> x_adv = attacks.pgd(model, x, y, eps=0.3, alpha=0.01, steps=40, seed=0)
>>> report = attacks.evaluate(model, attacks.fgsm, x, y, eps=0.3)
>>> table = attacks.format_table([report])                  # print(table): one row per report
>>> report.robust_accuracy < report.clean_accuracy
True
"""
from .auto_pgd import apgd, apgd_targeted
from .autoattack import AutoAttackResult, autoattack
from .base import least_likely, random_other, success
from .carlini_wagner import carlini_wagner_l2
from .evaluation import AttackReport, confidence, distortion, evaluate, format_table, measure, transfer_matrix
from .fast_adaptive_boundary import fab
from .fgsm import fgsm
from .fooling import fooling_images
from .hop_skip_jump import hop_skip_jump
from .iterative import bim, illc, iterative_least_likely
from .lbfgs import lbfgs
from .pgd import pgd
from .square import square

#: The attacks by name, for the command line and experiments.
#: Each takes ``(model, x, y, ...)``; lbfgs is targeted only, illc picks its own target.
ATTACKS = {"fgsm": fgsm, "bim": bim, "illc": illc, "pgd": pgd, "apgd": apgd, "apgd-t": apgd_targeted,
           "square": square, "hsj": hop_skip_jump, "fab": fab, "cw": carlini_wagner_l2, "lbfgs": lbfgs}

__all__ = ["ATTACKS", "AttackReport", "AutoAttackResult", "apgd", "apgd_targeted", "autoattack", "bim", "carlini_wagner_l2", "confidence", "distortion", "evaluate", "fab",
           "fgsm", "fooling_images", "format_table", "hop_skip_jump", "illc", "iterative_least_likely", "lbfgs", "least_likely",
           "measure", "pgd", "random_other", "square", "success", "transfer_matrix"]

# Black-box, physical-world and autoencoder attacks (issue 4).
from .blackbox import Oracle, Substitute, train_substitute, transfer_rate  # noqa: E402
from .latent import latent_attack, latent_distance  # noqa: E402
from .physical import Transforms, destruction_rate, eot  # noqa: E402

__all__ += ["Oracle", "Substitute", "Transforms", "destruction_rate", "eot", "latent_attack", "latent_distance",
            "train_substitute", "transfer_rate"]
