# Model: U-Net (mmseg's UNet-S5-D16 + FCN head).
# Loss: DIBE (Eq. 19), theta 0.5, lambda 0.75, gamma 2, beta = 1 - alpha
#   (alpha weights missed targets FN, beta false alarms FP).
# Data: MTSDD Crack, 256x256.
# Schedule: 50 epochs, SGD lr 0.01, momentum 0.9,
#   batch 2 GPUs x 16, validation (IoU, PA, OII) every 5 epochs.
_base_ = [
    '../_base_/models/unet-s5-d16_fcn.py',
    '../_base_/datasets/mt_crack.py',
    '../_base_/schedules/schedule_50e.py',
    'mmseg::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmseg_dibe'], allow_failed_imports=False)
default_scope = 'mmseg'
# Logs by epoch (mmseg's default runtime logs by iteration).
log_processor = dict(by_epoch=True)
crop_size = (256, 256)
loss = dict(type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, theta=0.5)
model = dict(
    data_preprocessor=dict(size=crop_size),
    # `_delete_`: replace the base's loss instead of merging keys into it.
    decode_head=dict(loss_decode=dict(_delete_=True, **loss)),
    auxiliary_head=dict(
        loss_decode=dict(_delete_=True, loss_weight=0.4, **loss)))
