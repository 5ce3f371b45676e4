"""Map labels: the largest clusters written in full, inside the plot, never overlapping."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.charts import label_box, place_labels


def test_labels_are_full_inside_and_do_not_overlap():
    rng = np.random.default_rng(0)
    n = 80
    centres = pd.DataFrame(
        {
            "x": rng.uniform(0, 10, n),
            "y": rng.uniform(0, 10, n),
            "size": rng.integers(5, 200, n),
            "label": [f"Cluster name number {i} with words" for i in range(n)],
        }
    )
    placed = place_labels(centres, 720, 480, domain_x=(0, 10), domain_y=(0, 10), limit=30)
    assert 5 <= len(placed) <= 30
    boxes = placed[["left", "top", "right", "bottom"]].to_numpy()
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 720).all()
    assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= 480).all()
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
    # full names, each box as wide as its text needs
    assert set(placed["label"]) <= set(centres["label"])
    widths = boxes[:, 2] - boxes[:, 0]
    assert np.allclose(widths, [label_box(t)[0] for t in placed["label"]])
    # the largest cluster always gets its label
    assert centres.loc[centres["size"].idxmax(), "label"] in set(placed["label"])


def test_a_label_near_the_edge_moves_inward_or_is_left_off():
    centres = pd.DataFrame(
        {"x": [0.05], "y": [5.0], "size": [10], "label": ["A long cluster name"]}
    )
    placed = place_labels(centres, 720, 480, domain_x=(0, 10), domain_y=(0, 10))
    assert len(placed) == 1 and placed["left"].iloc[0] >= 0
    assert placed["lx"].iloc[0] > 0.05  # shifted right so that it is not cut
