# U-Net (the paper's [30]): mmseg's UNet-S5-D16 backbone + FCN head, in binary
# mode (one sigmoid channel, threshold 0.5, on the decode AND the auxiliary
# head). Trained from scratch, as mmseg's U-Net configs are.
_base_ = 'mmseg::_base_/models/fcn_unet_s5-d16.py'
# Names starting with `__` stay in this file (mmengine drops them from the
# resolved config): one sigmoid channel thresholded at 0.5, and the loss.
__binary = dict(num_classes=2, out_channels=1, threshold=0.5)
__dibe = dict(type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, theta=0.5)
model = dict(
    # Four 2x downsamplings: UNet needs inputs divisible by 16; pad test
    # images to a multiple of 32 (cropped off the prediction again).
    data_preprocessor=dict(test_cfg=dict(size_divisor=32)),
    pretrained=None,
    # The default loss is DIBE; `_delete_` replaces mmseg's cross-entropy
    # instead of merging keys into it. Experiment configs set their own.
    decode_head=dict(
        **__binary, loss_decode=dict(_delete_=True, **__dibe)),
    auxiliary_head=dict(
        **__binary, loss_decode=dict(_delete_=True, loss_weight=0.4,
                                     **__dibe)),
    # The datasets' images are small: whole-image inference (mmseg's U-Net
    # base slides 256x256 windows).
    test_cfg=dict(_delete_=True, mode='whole'))
