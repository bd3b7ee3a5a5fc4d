# Model: PSPNet-R50-D8.
# Loss: Hybrid Focal (Eq. 12), theta 0.5, lambda 0.75,
#   gamma_Focal 2, gamma_FT 0.75
#   (alpha weights missed targets FN, beta false alarms FP).
# Data: MTSDD Blowhole, 256x256.
# Schedule: 50 epochs, SGD lr 0.01, momentum 0.9,
#   batch 2 GPUs x 16, validation (IoU, PA, OII) every 5 epochs.
_base_ = [
    '../_base_/models/pspnet_r50-d8.py',
    '../_base_/datasets/mt_blowhole.py',
    '../_base_/schedules/schedule_50e.py',
    'mmseg::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmseg_dibe'], allow_failed_imports=False)
default_scope = 'mmseg'
# Logs by epoch (mmseg's default runtime logs by iteration).
log_processor = dict(by_epoch=True)
crop_size = (256, 256)
loss = dict(
    type='HybridFocalLoss',
    theta=0.5,
    lam=0.75,
    alpha=0.3,
    gamma_focal=2.0,
    gamma_ft=0.75)
model = dict(
    data_preprocessor=dict(size=crop_size),
    # `_delete_`: replace the base's loss instead of merging keys into it.
    decode_head=dict(loss_decode=dict(_delete_=True, **loss)),
    auxiliary_head=dict(
        loss_decode=dict(_delete_=True, loss_weight=0.4, **loss)))
