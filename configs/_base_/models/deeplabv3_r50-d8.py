# DeepLabv3-R50-D8 (the paper's [32]) from mmseg's base, in binary mode (one
# sigmoid channel, threshold 0.5, on the decode AND the auxiliary head).
# pretrained=None: nothing is downloaded; see docs/datasets.md to start from
# ImageNet weights ('open-mmlab://resnet50_v1c').
_base_ = 'mmseg::_base_/models/deeplabv3_r50-d8.py'
loss = dict(type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, theta=0.5)
model = dict(
    pretrained=None,
    data_preprocessor=dict(test_cfg=dict(size_divisor=8)),
    decode_head=dict(
        num_classes=2, out_channels=1, threshold=0.5, loss_decode=loss),
    auxiliary_head=dict(
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        loss_decode=dict(loss, loss_weight=0.4)))
