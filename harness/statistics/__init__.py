"""Numbers only: interval estimates, raw-timing summaries and resampling of per-sample values."""
