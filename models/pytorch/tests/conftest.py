"""Puts models/pytorch on sys.path and keeps the tests on one CPU thread."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
