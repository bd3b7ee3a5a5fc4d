# DeepLabv3-R50-D8 (the paper's [32]) from mmseg's base, in binary mode (one
# sigmoid channel, threshold 0.5, on the decode AND the auxiliary head).
# pretrained=None: nothing is downloaded; see docs/datasets.md to start from
# ImageNet weights ('open-mmlab://resnet50_v1c').
_base_ = 'mmseg::_base_/models/deeplabv3_r50-d8.py'
# Names starting with `__` stay in this file (mmengine drops them from the
# resolved config): one sigmoid channel thresholded at 0.5, and the loss.
__binary = dict(num_classes=2, out_channels=1, threshold=0.5)
__dibe = dict(type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, theta=0.5)
model = dict(
    pretrained=None,
    data_preprocessor=dict(test_cfg=dict(size_divisor=8)),
    # The default loss is DIBE; `_delete_` replaces mmseg's cross-entropy
    # instead of merging keys into it. Experiment configs set their own.
    decode_head=dict(
        **__binary, loss_decode=dict(_delete_=True, **__dibe)),
    auxiliary_head=dict(
        **__binary, loss_decode=dict(_delete_=True, loss_weight=0.4,
                                     **__dibe)))
