"""Calibration products: ISR and master calibrations; science in ``cp.algorithms``."""
