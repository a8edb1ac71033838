"""Whether a record is true to its samples, current with the installed code, and verified by a re-run."""
