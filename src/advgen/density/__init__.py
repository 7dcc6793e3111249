"""Classical density estimation by maximum likelihood: a Gaussian, and a Gaussian mixture by EM.

>>> from advgen import data
>>> from advgen.density import GaussianMixture
>>> X = data.mixture("grid").sample(1000, generator=torch.Generator().manual_seed(0))
>>> gm = GaussianMixture(25, random_state=0).fit(X)     # scikit-learn's API, torch float64 engine
>>> samples, labels = gm.sample(2500)
>>> samples.shape
(2500, 2)
"""
from .gaussian import COVARIANCE_TYPES, Gaussian
from .gmm import INIT_PARAMS, ConvergenceWarning, GaussianMixture

__all__ = ["COVARIANCE_TYPES", "INIT_PARAMS", "ConvergenceWarning", "Gaussian", "GaussianMixture"]
