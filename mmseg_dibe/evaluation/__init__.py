"""Evaluation metrics."""
from .oii_metric import OIIMetric
from .threshold_metric import OIIThresholdMetric

__all__ = ['OIIMetric', 'OIIThresholdMetric']
