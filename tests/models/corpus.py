"""A small synthetic text-to-text task: reverse the order of the words."""

import numpy as np

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"] + [
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
]


def reversal_pairs(count, seed, min_words=3, max_words=6):
    rng = np.random.default_rng(seed)
    sources = [
        " ".join(rng.choice(WORDS, rng.integers(min_words, max_words + 1)))
        for _ in range(count)
    ]
    return sources, [" ".join(s.split()[::-1]) for s in sources]
