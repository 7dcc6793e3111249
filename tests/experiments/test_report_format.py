"""The report's number format: three significant digits, no exponents to decode."""
import pytest

from advgen.report.format import number


@pytest.mark.parametrize("value, text", [
    (0, "0"), (7, "7"), (123456, "123,456"), (0.0, "0"), (1 / 3, "0.333"), (0.98, "0.98"), (12.345, "12.3"),
    (841.0, "841"), (12345.6, "12,346"), (0.000127, "0.000127"), (1.27e-07, "< 0.0001"), (-3e-9, "> -0.0001"),
    (float("nan"), "nan"), (True, "True"), ("text", "text"),
])
def test_number(value, text):
    assert number(value) == text
