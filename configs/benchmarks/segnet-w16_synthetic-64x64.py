# CPU-scale comparison of the losses (benchmarks/compare_losses.py): a
# reduced SegNet (the paper's [29]: encoder max-poolings keep their indices,
# the decoder unpools by them; mmseg_dibe.SegNetEncoder / SegNetHead) with
# 1/4 of VGG16-BN's widths and one conv per stage, on the synthetic
# hidden-crack data (64x64).
_base_ = [
    '../_base_/models/segnet_vgg16-bn.py',
    '../_base_/datasets/synthetic_crack.py',
    '../_base_/losses/dibe.py', '../_base_/schedules/cpu_iters.py',
    '../_base_/default_runtime.py'
]

data_root = 'data/synthetic_crack_demo'
crop_size = (64, 64)
norm_cfg = dict(type='BN', requires_grad=True)
stage_channels = (16, 32, 64, 64, 64)
num_convs = (1, 1, 1, 1, 1)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(stage_channels=stage_channels, num_convs=num_convs,
                  norm_cfg=norm_cfg),
    decode_head=dict(
        stage_channels=stage_channels,
        num_convs=num_convs,
        in_channels=64,
        channels=16,
        norm_cfg=norm_cfg,
        loss_decode=_base_.loss))

train_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
