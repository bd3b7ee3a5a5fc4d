# CPU-scale comparison of the losses (benchmarks/compare_losses.py): the
# reduced-width U-Net of `make demo` (UNet-S5-D16 with 16 base channels + FCN
# head, one sigmoid channel) on the synthetic hidden-crack data.
# compare_losses.py derives one config per (loss, seed) from this one: it
# sets the loss, the seed, the data root, the lr and the iteration budget.
_base_ = ['../demo/unet-s5-tiny_dibe_synthetic-64x64.py']

# The schedule of ../_base_/schedules/cpu_iters.py (300 iterations, lr 0.05)
# with frequent validation: the curves decide how many iterations each loss
# needs to reach a usable IoU (the paper's Fig. 10).
max_iters = 300
# The base's poly decay, over this length.
param_scheduler = [dict(_base_.param_scheduler[0], end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=30)
default_hooks = dict(
    logger=dict(interval=10),
    # One checkpoint at the end: the benchmark reads the logs, not weights.
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
