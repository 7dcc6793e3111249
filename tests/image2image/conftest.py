"""One intra-op thread for these tiny nets: on a shared 2-core machine a second OpenMP thread
mostly spins (100× slower measured under load); restored after each test."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
