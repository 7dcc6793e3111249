"""The recipe line the report prints for a shipped generator, from its sidecar."""
import pytest

from advgen.experiments import shipped


@pytest.mark.parametrize("meta, where", [({}, "on one CPU thread"), ({"torch_threads": 2}, "on 2 CPU threads"),
                                         ({"device": "cuda", "torch_threads": 16}, "on cuda")])
def test_a_shipped_generators_recipe_line_says_where_it_trained(meta, where):
    line = shipped.describe("srresnet-x4", {"recipe": 3, "config": {"channels": 64, "blocks": 16, "steps": 4500},
                                            "train_seconds": 2138.6, **meta})
    assert line == f"srresnet-x4 (shipped: recipe 3, 64 channels × 16 blocks, 4,500 steps, trained once in 36 min {where})"
