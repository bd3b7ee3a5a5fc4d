"""Evaluation metrics."""
from .oii_metric import OIIMetric

__all__ = ['OIIMetric']
