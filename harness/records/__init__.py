"""Results on disk: the record store, locks, provenance, board keys, pairing and the terminal view of records."""
