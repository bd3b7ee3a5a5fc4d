_base_ = [
    '../_base_/models/deeplabv3_r50-d8.py', '../_base_/datasets/thc224.py',
    '../_base_/losses/hf.py', '../_base_/schedules/schedule_50e.py',
    '../_base_/epoch_runtime.py'
]
model = dict(
    data_preprocessor=dict(size=_base_.crop_size),
    decode_head=dict(loss_decode=dict(_delete_=True, **_base_.loss)),
    auxiliary_head=dict(
        loss_decode=dict(_delete_=True, loss_weight=0.4, **_base_.loss)))
