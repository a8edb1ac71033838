"""Running cells: one cell in its own process, grids of cells, executors, resuming, and re-runs that verify."""
