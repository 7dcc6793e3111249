import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the worker scripts double as importable modules


@pytest.fixture(autouse=True)
def one_thread():
    """Bit-identity with the subprocesses (which run on one thread) needs the same thread count here."""
    from advgen import _checks

    with _checks.num_threads(1):
        yield
