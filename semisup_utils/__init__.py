"""semisup: semi-supervised CIFAR-10 with inferred labels, as a reproducible study.

The package computes; the notebooks in ``notebooks/`` narrate; ``results/`` remembers.
"""
__version__ = "0.1.0"
