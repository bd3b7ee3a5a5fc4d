# CPU-scale comparison of the losses (benchmarks/compare_losses.py): the
# reduced-width U-Net of `make demo` (UNet-S5-D16 with 16 base channels + FCN
# head, one sigmoid channel) on the synthetic hidden-crack data.
# compare_losses.py derives one config per (loss, seed) from this one: it
# sets the loss, the seed, the data root and the iteration budget.
_base_ = ['../demo/unet-s5-tiny_dibe_synthetic-64x64.py']

# The synthetic base's PhotoMetricDistortion(hue_delta=0) crashes mmseg 1.2.2
# (randint(0, 0)); hue_delta=1 is no visible shift on grey images.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PhotoMetricDistortion', hue_delta=1),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# Frequent validation: the curves decide how many iterations each loss
# needs to reach a usable IoU (the paper's Fig. 10).
max_iters = 300
train_cfg = dict(max_iters=max_iters, val_interval=30)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=10, log_metric_by_epoch=False),
    # One checkpoint at the end: the benchmark reads the logs, not weights.
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1),
    visualization=dict(draw=False))
