# Synthetic "hidden crack" data written by tools/data/make_synthetic.py.
_base_ = ['./binary_defect.py']
dataset_type = 'SyntheticCrackDataset'
data_root = 'data/synthetic_crack'
crop_size = (64, 64)
# Loading these small PNGs is cheap next to the model: no worker processes,
# which keeps 2-core CPU machines responsive. Iteration-based training.
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
