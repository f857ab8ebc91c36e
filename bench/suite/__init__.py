"""The parts of `make bench` (bench/run.py): one module per concern, each measured beside a baseline."""
