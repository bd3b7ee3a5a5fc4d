"""Training hooks."""
from .oii_bisection_hook import (OIIBisectionHook, find_alpha_losses,
                                 set_loss_alpha)

__all__ = ['OIIBisectionHook', 'find_alpha_losses', 'set_loss_alpha']
