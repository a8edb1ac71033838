"""EEG pathology detection across recording sites (TUAB -> NMT style transfer)."""
