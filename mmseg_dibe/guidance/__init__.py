"""Selection of α guided by the output imbalance index (Fig. 4)."""
from .bisection import BisectionStep, OIIBisection
from .heads import HeadLoss, iter_head_losses

__all__ = ['BisectionStep', 'OIIBisection', 'HeadLoss', 'iter_head_losses']
