"""Defenses against adversarial examples, and the evidence of when they fail.

- :func:`adversarial_training`: Goodfellow et al.'s mixed objective (``mix=0.5``, FGSM) and
  Madry et al.'s min-max (``mix=0``, PGD), on the shared loop :func:`advgen.train.fit` with
  checkpoint/resume.
- :func:`defensive_distillation`: Papernot et al. 2016 with an explicit temperature
  (:class:`Temperature`): teacher at T, soft labels at T, student at T, deployed at T = 1.
- :func:`evaluate_defense`: one row of the defenses table (FGSM, PGD with restarts, CW-L2, masking);
  :func:`blackbox_transfer`: its black-box substitute column (Papernot et al. 2017).
- :func:`masking_report`: symptoms of gradient masking (Athalye et al. 2018, Carlini et al. 2019).

>>> from advgen import data, defenses, nets
>>> ds, model = data.load("mnist"), nets.mnist_cnn()
>>> defenses.adversarial_training(model, ds, attack="pgd", mix=0.0, steps=5, alpha=0.15, warmup=3, epochs=15,
...                               checkpoint_dir="runs/pgd-ckpt")  # doctest: +SKIP
>>> print(defenses.masking_report(model, ds.x_test[:200], ds.y_test[:200]).summary())  # doctest: +SKIP
"""
from .adversarial_training import AdvTrainConfig, adversarial_loss, adversarial_training
from .evaluation import blackbox_transfer, evaluate_defense, pgd_restarts, spread_index
from .distillation import DistillResult, Temperature, defensive_distillation, distillation_loss, soft_labels
from .masking import FLAGS, LogitScale, MaskingReport, masking_report

__all__ = ["AdvTrainConfig", "DistillResult", "FLAGS", "LogitScale", "MaskingReport", "Temperature",
           "adversarial_loss", "adversarial_training", "blackbox_transfer", "defensive_distillation", "distillation_loss",
           "evaluate_defense", "masking_report", "pgd_restarts", "soft_labels", "spread_index"]
