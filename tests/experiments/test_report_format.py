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


@pytest.mark.parametrize("meta, where", [({}, "on one CPU thread"), ({"torch_threads": 2}, "on 2 CPU threads"),
                                         ({"device": "cuda", "torch_threads": 16}, "on cuda")])
def test_a_shipped_generators_recipe_line_says_where_it_trained(meta, where):
    from advgen.experiments import shipped

    line = shipped.describe("srresnet-x4", {"recipe": 3, "config": {"channels": 64, "blocks": 16, "steps": 4500},
                                            "train_seconds": 2138.6, **meta})
    assert line == f"srresnet-x4 (shipped: recipe 3, 64 channels × 16 blocks, 4,500 steps, trained once in 36 min {where})"
