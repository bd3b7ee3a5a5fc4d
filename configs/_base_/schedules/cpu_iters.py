# The iteration-based schedule of the CPU-sized configs (the demo and
# configs/benchmarks): SGD with poly decay, validation (IoU, PA, OII) every
# `val_interval` iterations, one checkpoint at the end.
#
# lr 0.05, not the paper's 0.01: with a few hundred CPU iterations, 0.01 sits
# at the edge of the point where the rare crack pixels start being predicted
# (measured on the demo: one run IoU 0.44, an identical one still empty at
# iteration 600); 0.05 predicts cracks by iteration 200.
#
# A config that changes `max_iters` sets `param_scheduler`, `train_cfg` and the
# checkpoint interval again: a base's variables are resolved in the base.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0005),
    clip_grad=None)
max_iters = 300
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=30)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False,
                    interval=max_iters, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook', draw=False))
randomness = dict(seed=0)
# NHWC convolutions (ChannelsLastHook): 1.43x the iterations per second of
# the default layout on the reduced U-Net, one CPU thread (docs/results.md).
# A config that sets its own custom_hooks replaces this list: keep the hook
# in it.
custom_hooks = [dict(type='ChannelsLastHook')]
