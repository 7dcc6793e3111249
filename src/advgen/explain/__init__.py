"""Explain a classifier's decision: gradient and perturbation attributions.

| function | method | Captum counterpart |
| --- | --- | --- |
| :func:`saliency` | |∂S/∂x| (Simonyan et al. 2014) | ``Saliency`` |
| :func:`occlusion`, :func:`occlusion_map` | sliding grey window (Zeiler & Fergus 2013) | ``Occlusion`` |
| :func:`integrated_gradients` | path integral of gradients (Sundararajan et al. 2017) | ``IntegratedGradients`` |
| :func:`smoothgrad`, :func:`vargrad` | mean / variance of noisy gradients (Smilkov et al. 2017) | ``NoiseTunnel`` |
| :func:`input_x_gradient` | x ⊙ ∂S/∂x | ``InputXGradient`` |
| :func:`guided_backprop` | positive-gradient ReLU rule (Springenberg et al. 2015) | ``GuidedBackprop`` |
| :func:`grad_cam`, :func:`guided_grad_cam` | gradient-weighted class activation map (Selvaraju et al. 2017) | ``LayerGradCam``, ``GuidedGradCam`` |
| :func:`kernel_shap` | Shapley values by weighted regression (Lundberg & Lee 2017) | ``KernelShap`` |

Every function takes ``(model, x, target=None, ...)`` with the target's logit as the explained score
(the predicted class when ``target`` is None), leaves the model as it found it, and bounds memory:
the methods that expand the batch (``n_steps``, ``n_samples``) run it in chunks sized to a memory
budget unless ``internal_batch_size`` is given.

>>> from advgen import data, explain, zoo
>>> model, ds = zoo.load("mnist-cnn"), data.load("mnist")
>>> heat = explain.occlusion(model, ds.x_test[:4])                      # 4×1×28×28
>>> ig = explain.integrated_gradients(model, ds.x_test[:4], n_steps=32)  # 4×1×28×28
>>> cam = explain.grad_cam(model, ds.x_test[:4])                        # 4×1×28×28, last conv layer
"""
from .grad_cam import grad_cam
from .guided_backprop import guided_backprop
from .guided_grad_cam import guided_grad_cam
from .input_x_gradient import input_x_gradient
from .integrated_gradients import integrated_gradients
from .kernel_shap import kernel_shap, superpixels
from .occlusion import occlusion, occlusion_map
from .saliency import saliency
from .smoothgrad import smoothgrad, vargrad

__all__ = ["grad_cam", "guided_backprop", "guided_grad_cam", "input_x_gradient", "integrated_gradients",
           "kernel_shap", "occlusion", "occlusion_map", "saliency", "smoothgrad", "superpixels", "vargrad"]
