"""The page's heatmaps: the image grows with the tokens, every label lies
inside it and off the grid, each token has its own label, and the labels
are really drawn (ink where the boxes say)."""

import doctest

import numpy as np
import pytest

import demos.heatmap
from demos.heatmap import CELL_PX
from demos.heatmap import cell_size
from demos.heatmap import draw_heatmap

# A 31-token source as the shipped translator cuts it, with word pieces.
SOURCE_TEXT = (
    "[START] Mi hermano vive en M ##ad ##r ##id con su esposa y sus tres hijos "
    ", y cada verano vi ##aja ##n juntos a la playa para descansar y nadar [END]"
)
SOURCE = SOURCE_TEXT.split()
OUTPUT_TEXT = (
    "My brother lives in Madrid with his wife and his three children , and "
    "every summer they travel together to the beach . [END]"
)
OUTPUT = OUTPUT_TEXT.split()


def pair(sources, outputs, seed=0):
    weights = np.random.default_rng(seed).dirichlet(
        np.full(len(sources), 0.3), size=len(outputs)
    )
    return {"source_tokens": sources, "output_tokens": outputs, "weights": weights}


def inside(box, image):
    left, top, right, bottom = box
    return 0 <= left <= right <= image.width and 0 <= top <= bottom <= image.height


def overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def has_ink(image, box):
    """Whether the box holds dark pixels (label text on the white page)."""
    left, top, right, bottom = (int(round(v)) for v in box)
    pixels = np.asarray(image.convert("L").crop((left, top, right, bottom)))
    return pixels.size and (pixels < 100).any()


def test_the_image_grows_with_the_tokens():
    small, _ = draw_heatmap(pair(SOURCE[:5], OUTPUT[:4]))
    wide, _ = draw_heatmap(pair(SOURCE, OUTPUT[:4]))
    tall, _ = draw_heatmap(pair(SOURCE[:5], OUTPUT))
    assert wide.width - small.width >= (len(SOURCE) - 5) * CELL_PX
    assert tall.height - small.height >= (len(OUTPUT) - 4) * CELL_PX
    assert abs(wide.height - small.height) < 2 * CELL_PX  # labels, not cells


def test_a_31_token_sentence_keeps_full_size_cells_and_type():
    image, boxes = draw_heatmap(pair(SOURCE, OUTPUT))
    left, top, right, bottom = boxes["grid"]
    assert right - left == len(SOURCE) * CELL_PX
    assert bottom - top == len(OUTPUT) * CELL_PX
    assert len(boxes["source"]) == len(SOURCE)  # one label per token
    assert len(boxes["output"]) == len(OUTPUT)
    # Pixels of type ("My": cap height and descender), shown unscaled.
    assert boxes["output"][0][3] - boxes["output"][0][1] >= 12


@pytest.mark.parametrize(
    "sources, outputs",
    [
        (SOURCE[:3], OUTPUT[:2]),
        (SOURCE, OUTPUT),
        (SOURCE * 4, OUTPUT),  # a summarizer's input: cells shrink
        (["[START]", "$x$", "[SEP]", "##", "", "[END]"], ["a", "$", "[END]"]),
    ],
)
def test_every_label_is_inside_the_image_off_the_grid_and_drawn(sources, outputs):
    image, boxes = draw_heatmap(pair(sources, outputs))
    grid = boxes["grid"]
    assert inside(grid, image)
    labels = boxes["source"] + boxes["output"] + boxes["ticks"]
    for box in labels:
        assert inside(box, image), (box, image.size)
        assert not overlaps(box, grid), (box, grid)
    assert inside(boxes["colorbar"], image)
    # The first output row's label and the colour bar's top label are
    # there to read (the page once covered the one and cut the other).
    assert has_ink(image, boxes["output"][0])
    assert has_ink(image, boxes["ticks"][0])
    for box, token in zip(boxes["source"], sources, strict=False):
        if token:
            assert has_ink(image, box), token


def test_long_inputs_shrink_to_a_floor_and_thin_labels_only_past_it():
    assert cell_size(31) == (CELL_PX, 14, 1)
    cell, font, step = cell_size(150)
    assert cell < CELL_PX and font < 14 and step == 1
    cell, font, step = cell_size(1000)
    assert step >= 1 and cell >= 12 and font >= 8
    image, boxes = draw_heatmap(pair(SOURCE * 5, OUTPUT))  # 160 source tokens
    assert len(boxes["source"]) == len(range(0, 160, cell_size(160)[2]))


def test_weights_of_the_wrong_shape_are_refused():
    bad = pair(SOURCE[:3], OUTPUT[:2])
    bad["weights"] = bad["weights"].T
    with pytest.raises(ValueError, match=r"\(output_len, source_len\) = \(2, 3\)"):
        draw_heatmap(bad)


def test_the_docstring_example_runs():
    failed, attempted = doctest.testmod(demos.heatmap, verbose=False)
    assert attempted and not failed
