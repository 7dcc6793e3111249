"""Classical density estimation by maximum likelihood: a Gaussian, and a Gaussian mixture by EM.

>>> from advgen.density import GaussianMixture
>>> gm = GaussianMixture(25, random_state=0).fit(X)     # scikit-learn's API, torch float64 engine
>>> samples, labels = gm.sample(2500)
"""
from .gaussian import COVARIANCE_TYPES, Gaussian
from .gmm import INIT_PARAMS, ConvergenceWarning, GaussianMixture

__all__ = ["COVARIANCE_TYPES", "INIT_PARAMS", "ConvergenceWarning", "Gaussian", "GaussianMixture"]
