"""Time-series pattern capability (SynTSBench): which temporal patterns a forecaster can learn, against the optimum."""
