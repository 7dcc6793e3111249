"""advgen: interpret, attack, defend and generate — the 'Deep generative models' lecture as a library.

Subpackages: ``data``, ``nets``, ``zoo``, ``explain``, ``experiments``, ``report``, ``plot``.
"""
__version__ = "0.1.0"
