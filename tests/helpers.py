"""NumPy references and small utilities for the tests.

The references are written from the papers' formulas, not from the layers'
code, and read the layers' own weights.
"""

import numpy as np
from keras import ops


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def masked_softmax(scores, mask=None):
    """Softmax over the last axis; zeros where `mask` (batch, S) is False."""
    scores = scores.astype("float64")
    if mask is not None:
        mask = np.broadcast_to(mask[:, None, :], scores.shape)
        scores = np.where(mask, scores, -np.inf)
    top = np.max(scores, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    exp = np.exp(scores - top)
    total = exp.sum(-1, keepdims=True)
    return np.divide(exp, total, out=np.zeros_like(exp), where=total > 0)


def attend(scores, value, mask=None):
    """Context `(batch, Tq, dim_v)` and weights from raw scores."""
    weights = masked_softmax(scores, mask)
    return np.einsum("bts,bsd->btd", weights, value), weights


def bahdanau_scores(layer, query, value):
    """`vᵀ tanh(W_q q + W_k h)`, weight-normalised with `layer.normalize`."""
    w_q = to_numpy(layer.query_kernel)
    w_k = to_numpy(layer.key_kernel)
    v = to_numpy(layer.score_vector)
    bias = 0.0
    if layer.normalize:
        v = to_numpy(layer.score_scale) * v / np.linalg.norm(v)
        bias = to_numpy(layer.score_bias)
    hidden = (query @ w_q)[:, :, None, :] + (value @ w_k)[:, None, :, :] + bias
    return np.tanh(hidden) @ v


def luong_scores(layer, query, value):
    """Luong's dot, general and concat scores, with the optional scale."""
    if layer.score_mode == "dot":
        scores = np.einsum("btd,bsd->bts", query, value)
    elif layer.score_mode == "general":
        # qᵀ W h with the layer's W stored as (dim_v, dim_q).
        scores = np.einsum("bti,ji,bsj->bts", query, to_numpy(layer.kernel), value)
    else:
        kernel = to_numpy(layer.kernel)
        v = to_numpy(layer.score_vector)
        batch, steps, sources = query.shape[0], query.shape[1], value.shape[1]
        scores = np.zeros((batch, steps, sources))
        for b in range(batch):
            for t in range(steps):
                for s in range(sources):
                    joined = np.concatenate([query[b, t], value[b, s]])
                    scores[b, t, s] = np.tanh(joined @ kernel) @ v
    if layer.scale:
        scores = scores * to_numpy(layer.score_scale)
    return scores


def random_float(rng, *shape):
    return rng.normal(size=shape).astype("float32")
