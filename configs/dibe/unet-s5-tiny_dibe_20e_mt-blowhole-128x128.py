# A CPU-sized check on real data (not a paper setting): U-Net with 1/8 of
# the width (base_channels 8 instead of 64) and the DIBE loss of
# unet-s5-d16_dibe_50e_mt-blowhole-256x256.py, on MTSDD Blowhole scaled to a
# long side of 256 (about half size: a blowhole of ~30 px keeps ~15 px),
# random 128x128 crops, batch 8, 20 epochs, validation (IoU, PA, OII) every
# 10 epochs on the whole scaled val images, scored at the original size.
# About a quarter of an hour on 2 busy CPU cores:
#   python tools/dataset_converters/mtsdd.py Magnetic-tile-defect-datasets. \
#       data/mt_blowhole --subset Blowhole
#   python tools/train.py \
#       configs/dibe/unet-s5-tiny_dibe_20e_mt-blowhole-128x128.py
_base_ = ['./unet-s5-d16_dibe_50e_mt-blowhole-256x256.py']
crop_size = (128, 128)
scale = (256, 256)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(base_channels=8, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=8, channels=8, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=16, channels=8, norm_cfg=norm_cfg))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PhotoMetricDistortion', hue_delta=1),
    dict(type='PackSegInputs'),
]
# Labels are loaded after the resize: the prediction is resized back to the
# original image and compared with the original mask.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# No worker processes: on a 2-core machine they only compete with the model.
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_epochs = 20
# The base's poly decay, over this length.
param_scheduler = [dict(_base_.param_scheduler[0], end=max_epochs)]
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
default_hooks = dict(
    logger=dict(interval=3),
    checkpoint=dict(interval=10, max_keep_ckpts=1))
