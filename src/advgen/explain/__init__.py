"""Explain a classifier's decision: gradient saliency and occlusion sensitivity.

>>> from advgen import data, explain, zoo
>>> model, ds = zoo.load("mnist-cnn"), data.load("mnist")
>>> heat = explain.occlusion(model, ds.x_test[:4])          # 4×1×28×28
>>> grad = explain.saliency(model, ds.x_test[:4])           # 4×1×28×28, max over channels
"""
from .occlusion import occlusion, occlusion_map
from .saliency import saliency

__all__ = ["occlusion", "occlusion_map", "saliency"]
