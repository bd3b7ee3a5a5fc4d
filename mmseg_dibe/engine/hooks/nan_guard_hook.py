"""Stop a training at the first non-finite loss, naming the loss terms."""
import math

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


def _value(v) -> float:
    if isinstance(v, torch.Tensor):
        return float(v.detach().float().mean())
    return float(v)


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Raise ``FloatingPointError`` when a loss of the iteration is NaN/inf.

    The message names the iteration (1-based, as mmengine logs it) and every
    non-finite ``loss*`` key of the model's ``log_vars`` (e.g.
    ``decode.loss_dibe=nan``), instead of training on with NaN weights.
    Our ``tools/train.py`` adds it to every training.
    """

    priority = 'HIGHEST'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not outputs:
            return
        bad = []
        for key, value in outputs.items():
            if 'loss' not in key:
                continue
            try:
                number = _value(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(number):
                bad.append(f'{key}={number}')
        if bad:
            raise FloatingPointError(
                f'non-finite loss at iteration {runner.iter + 1}: '
                f'{", ".join(bad)} (lower the learning rate or check the '
                f'loss inputs)')
