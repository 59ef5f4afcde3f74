"""Test-wide settings.

One intra-op thread per test process: the suite runs with ``pytest -n 2`` on 2-core machines,
and two workers with two OpenMP threads each oversubscribe the cores, which makes tiny ops stall
on thread barriers (10-100x slower and erratic).
"""
import torch


def pytest_configure(config) -> None:
    torch.set_num_threads(1)
