# Model: DeepLabv3-R50-D8.
# Loss: Focal Tversky (Eq. 8), gamma_FT 0.75
#   (alpha weights missed targets FN, beta false alarms FP).
# Data: THC224, 224x224.
# Schedule: 50 epochs, SGD lr 0.01, momentum 0.9,
#   batch 2 GPUs x 16, validation (IoU, PA, OII) every 5 epochs.
_base_ = [
    '../_base_/models/deeplabv3_r50-d8.py',
    '../_base_/datasets/thc224.py',
    '../_base_/schedules/schedule_50e.py',
    'mmseg::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmseg_dibe'], allow_failed_imports=False)
default_scope = 'mmseg'
# Logs by epoch (mmseg's default runtime logs by iteration).
log_processor = dict(by_epoch=True)
crop_size = (224, 224)
loss = dict(type='FocalTverskyLoss', alpha=0.3, beta=0.7, gamma=0.75)
model = dict(
    data_preprocessor=dict(size=crop_size),
    # `_delete_`: replace the base's loss instead of merging keys into it.
    decode_head=dict(loss_decode=dict(_delete_=True, **loss)),
    auxiliary_head=dict(
        loss_decode=dict(_delete_=True, loss_weight=0.4, **loss)))
