# Train on your own images: U-Net (mmseg's UNet-S5-D16 + FCN head, binary
# sigmoid head) with the DIBE loss on a folder converted by
#   python tools/dataset_converters/folder.py IMAGES MASKS data/my_defects
# Edit `data_root` below (the one line to change); `crop_size` and `lam` are
# the two values `tools/analysis/dataset_stats.py data/my_defects` suggests.
# Everything else is the paper's setup (SGD lr 0.01, momentum 0.9, 50 epochs,
# validation with IoU, PA and OII every 5 epochs).
_base_ = [
    '../_base_/models/unet-s5-d16_fcn.py',
    '../_base_/datasets/binary_defect.py',
    '../_base_/schedules/schedule_50e.py',
    'mmseg::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmseg_dibe'], allow_failed_imports=False)
default_scope = 'mmseg'
log_processor = dict(by_epoch=True)

data_root = 'data/my_defects'  # <- the converter's OUT
crop_size = (256, 256)  # training crops; smaller images are padded
lam = 0.75  # weight of the defect class (dataset_stats.py suggests one)

# DIBE (Eq. 19): alpha weights missed defects (FN), beta = 1 - alpha false
# alarms (FP); tune alpha with OII guidance (tools/oii_search.py or the
# OIIBisectionHook), see docs/oii.md.
loss = dict(type='DIBELoss', alpha=0.3, lam=lam, gamma=2.0, theta=0.5)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(loss_decode=dict(_delete_=True, **loss)),
    auxiliary_head=dict(
        loss_decode=dict(_delete_=True, loss_weight=0.4, **loss)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # The dataset turns this into LoadBinaryAnnotations: a mask that is not
    # 0/1 (a raw 0/255 one, say) stops training with its file name.
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PhotoMetricDistortion', hue_delta=1),
    dict(type='PackSegInputs'),
]
# The paper's total batch is 32 (2 GPUs x 16); lower batch_size on a
# smaller GPU (and the lr with it).
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
