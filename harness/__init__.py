"""harness: run tasks against efficiency methods and record accuracy, memory and latency."""

__version__ = "0.1.0"
