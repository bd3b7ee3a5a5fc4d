"""Train and evaluate in ``torch.channels_last`` memory format (CPU speed)."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def _to_channels_last(module, args):
    """Forward pre-hook: the 4-D input batch in channels-last layout."""
    return tuple(a.contiguous(memory_format=torch.channels_last)
                 if isinstance(a, torch.Tensor) and a.dim() == 4 else a
                 for a in args)


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Move the model's weights, and the images entering its backbone, to
    ``torch.channels_last`` (NHWC) memory format before training or testing.

    On CPU, oneDNN's convolutions run faster in NHWC: measured 1.43x the
    iterations per second of the default layout on the reduced U-Net,
    batch 8, one thread (``benchmarks/train_speed.py``, docs/results.md).
    Only the layout changes, not the values a convolution computes beyond
    floating-point summation order; checkpoints load into a model of either
    layout.

    Add it with ``custom_hooks = [dict(type='ChannelsLastHook')]`` (the
    CPU benchmark configs do).
    """

    priority = 'VERY_HIGH'

    def __init__(self):
        self._handle = None

    def _apply(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        model.to(memory_format=torch.channels_last)
        if self._handle is None and hasattr(model, 'backbone'):
            self._handle = model.backbone.register_forward_pre_hook(
                _to_channels_last)

    def before_train(self, runner) -> None:
        self._apply(runner)

    def before_val(self, runner) -> None:
        self._apply(runner)

    def before_test(self, runner) -> None:
        self._apply(runner)
