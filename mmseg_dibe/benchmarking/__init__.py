"""Measurement code of the benchmarks in ``benchmarks/`` (the scripts there
parse arguments and call into this package)."""
