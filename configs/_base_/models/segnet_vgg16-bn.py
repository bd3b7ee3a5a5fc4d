# SegNet (the paper's [29]): VGG16-BN encoder whose max-poolings return their
# indices, decoder that unpools by those indices (mmseg_dibe.SegNetEncoder /
# SegNetHead). Binary mode: one sigmoid channel, thresholded at 0.5.
# Random initialisation (no download at build time); see docs/datasets.md for
# ImageNet VGG16-BN weights.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    # Five 2x poolings: pad test images to a multiple of 32 (the padding is
    # cropped off the prediction again).
    test_cfg=dict(size_divisor=32))
stage_channels = (64, 128, 256, 512, 512)
num_convs = (2, 2, 3, 3, 3)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='SegNetEncoder',
        in_channels=3,
        stage_channels=stage_channels,
        num_convs=num_convs,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU')),
    decode_head=dict(
        type='SegNetHead',
        stage_channels=stage_channels,
        num_convs=num_convs,
        in_channels=512,
        channels=64,
        dropout_ratio=0.1,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='DIBELoss', alpha=0.3, lam=0.75, gamma=2.0, theta=0.5)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
