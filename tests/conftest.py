"""Test-wide settings and fixtures.

One intra-op thread per test process: the suite runs with ``pytest -n 2`` on 2-core machines,
and two workers with two OpenMP threads each oversubscribe the cores, which makes tiny ops stall
on thread barriers (10-100x slower and erratic).
"""
import os

import pytest
import torch

from reference_data import MMConfigs, mm_configs_or_skip


def pytest_configure(config) -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope='session')
def mm_configs() -> MMConfigs:
    """mmsegmentation 1.2.2's and mmdetection 3.3.0's config folders (see reference_data.py):
    fetched once per run and cached; skips offline, fails offline under ``CI=true``."""
    return mm_configs_or_skip(os.environ)
