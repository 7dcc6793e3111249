"""One torch thread for this folder's tests: on a shared, oversubscribed CPU the small models here run
several times faster single-threaded (and the results do not depend on the thread count)."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
