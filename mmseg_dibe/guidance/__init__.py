"""Selection of α guided by the output imbalance index (Fig. 4)."""
from .bisection import OIIBisection

__all__ = ['OIIBisection']
