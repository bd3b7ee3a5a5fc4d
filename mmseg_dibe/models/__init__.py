"""Models of the plugin (registered in mmseg's MODELS registry)."""
from .segnet import PoolingRecord, SegNetEncoder, SegNetHead

__all__ = ['PoolingRecord', 'SegNetEncoder', 'SegNetHead']
