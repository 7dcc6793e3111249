import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """The restoration tests use tiny nets: one thread is faster, and is not hurt by a busy machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
