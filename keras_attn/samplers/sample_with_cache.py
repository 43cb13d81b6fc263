"""Running a sampler so that it also returns its final cache.

keras-hub's samplers return only the finished prompt. A model that keeps
something per step in the cache (the attention weights of each output
token) needs the cache of the sequence that was returned: this module runs
keras-hub's own decoding loop, through the sampler's hooks, and keeps it.
"""

import keras_hub
from keras import ops

from keras_attn.samplers._decoding_controls import DecodingControls
from keras_attn.samplers.beam_search_sampler import BeamSearchSampler


def returns_cache(sampler):
    """Whether `sample_with_cache` can run `sampler`.

    True for `keras_attn.samplers.BeamSearchSampler` and for every sampler
    that decodes with `keras_hub.samplers.Sampler`'s own loop (greedy,
    top-k, top-p, random and their subclasses that override only
    `compute_probabilities` / `get_next_token`). False for a sampler with a
    loop of its own (keras-hub's `BeamSampler`, `ContrastiveSampler`).
    """
    return isinstance(sampler, BeamSearchSampler) or type(sampler).__call__ in (
        keras_hub.samplers.Sampler.__call__,
        DecodingControls.__call__,
    )


def sample_with_cache(
    sampler,
    next,
    prompt,
    cache=None,
    index=0,
    mask=None,
    stop_token_ids=None,
    model=None,
):
    """Decodes with `sampler` and returns the prompt and the final cache.

    For a sampler on keras-hub's base loop the tokens are the ones
    `sampler(...)` gives: the same loop, the same `compute_probabilities`,
    `get_next_token` and `run_loop` (so the same random stream), and the
    same decoding controls for a sampler that has them. For
    `BeamSearchSampler` it is `sampler.search(...)`, whose cache is the
    returned hypothesis's own.

    Args:
        sampler: a sampler for which `returns_cache(sampler)` is true.
        next, prompt, cache, index, mask, stop_token_ids, model: as
            `keras_hub.samplers.Sampler.__call__`.

    Returns:
        A tuple `(prompt, cache)`: the decoded `(batch, length)` token ids
        and the cache after the last step, in the structure passed in.

    Example:
    A `next` that counts its steps in the cache:
    >>> from keras import ops
    >>> import keras_attn
    >>> from keras_attn.samplers.sample_with_cache import sample_with_cache
    >>> def next(prompt, cache, index):
    ...     return ops.one_hot(ops.full((1,), 2), 3), None, cache + 1
    >>> prompt, steps = sample_with_cache(
    ...     keras_attn.samplers.GreedySampler(), next,
    ...     ops.zeros((1, 4), "int32"), cache=ops.zeros((1,)), index=1)
    >>> ops.convert_to_numpy(prompt).tolist(), ops.convert_to_numpy(steps).tolist()
    ([[0, 2, 2, 2]], [3.0])
    """
    if isinstance(sampler, BeamSearchSampler):
        return sampler.search(
            next,
            prompt,
            cache=cache,
            index=index,
            mask=mask,
            stop_token_ids=stop_token_ids,
            model=model,
        )
    if not returns_cache(sampler):
        raise ValueError(
            "This sampler runs a decoding loop of its own, which returns only "
            "the tokens, not the cache of the sequence it chose. Use "
            "keras_attn.samplers.BeamSearchSampler for beam search, or a "
            "sampler that overrides only `get_next_token` / "
            f"`compute_probabilities`. Received: sampler={type(sampler).__name__}"
        )
    # keras-hub's `Sampler.__call__`, keeping the cache it drops.
    max_length = ops.cast(ops.shape(prompt)[-1], "int32")
    index = ops.cast(index, "int32")
    mask = (
        ops.zeros_like(prompt, dtype="bool")
        if mask is None
        else ops.cast(mask, dtype="bool")
    )
    cache = () if cache is None else cache
    if isinstance(sampler, DecodingControls):
        next = sampler.controlled_next(next, prompt, mask, stop_token_ids)

    def cond(prompt, cache, index, mask):
        if stop_token_ids is None:
            return ops.convert_to_tensor(True, dtype="bool")
        # Stop once every row has generated (outside the mask) a stop token.
        is_stop = ops.zeros_like(mask)
        for stop in stop_token_ids:
            is_stop = ops.logical_or(is_stop, ops.equal(prompt, stop))
        done = ops.any(ops.logical_and(is_stop, ops.logical_not(mask)), axis=-1)
        return ops.logical_not(ops.all(done))

    def body(prompt, cache, index, mask):
        logits, _, cache = next(prompt, cache, index)
        probabilities = sampler.compute_probabilities(logits)
        token = ops.cast(sampler.get_next_token(probabilities), prompt.dtype)
        token = ops.where(mask[:, index], prompt[:, index], token)
        prompt = ops.slice_update(prompt, [0, index], token[:, None])
        return prompt, cache, index + 1, mask

    prompt, cache, _, _ = sampler.run_loop(
        cond,
        body,
        loop_vars=(prompt, cache, index, mask),
        maximum_iterations=(max_length - index),
        model=model,
    )
    return prompt, cache
