_base_ = [
    '../_base_/models/segnet_vgg16-bn.py', '../_base_/datasets/cfd.py',
    '../_base_/losses/dibe-reg.py', '../_base_/schedules/schedule_50e.py',
    '../_base_/epoch_runtime.py'
]
model = dict(
    data_preprocessor=dict(size=_base_.crop_size),
    decode_head=dict(loss_decode=dict(_delete_=True, **_base_.loss)))
