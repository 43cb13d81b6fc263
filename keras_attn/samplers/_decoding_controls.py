"""Decoding controls shared by the samplers: n-gram blocking, a minimum
length and CTRL's repetition penalty, as tensor ops on the whole batch.

Every control reads only the tokens generated so far: positions before the
current `index` that are not part of the prompt (the `mask` a sampler is
given marks the prompt, `[START]` included). Prompt tokens and the padding
not yet written never count.
"""

import keras_hub
from keras import ops

# What a banned token's logit (or log-probability) becomes: far below any
# real one, finite so that a row with every token banned stays a number.
BANNED = -1e9


def check_controls(no_repeat_ngram_size, min_length, repetition_penalty):
    """Raises a ValueError naming the first bad control and its value."""
    for name, value in (
        ("no_repeat_ngram_size", no_repeat_ngram_size),
        ("min_length", min_length),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"`{name}` must be an integer >= 0 (0 turns it off). "
                f"Received: {name}={value!r}"
            )
    check_number("repetition_penalty", repetition_penalty, "> 0 (1 turns it off)")


def check_number(name, value, bound):
    """Raises unless `value` is a real number satisfying `bound`, one of
    `"> 0 ..."` or `">= 0 ..."`."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    ok = is_number and value == value and value != float("inf")  # not nan, inf
    if ok:
        ok = value >= 0 if bound.startswith(">=") else value > 0
    if not ok:
        raise ValueError(
            f"`{name}` must be a number {bound}. Received: {name}={value!r}"
        )


def generated_mask(prompt, mask, index):
    """`(rows, length)` bool: the positions generated before `index`."""
    positions = ops.arange(ops.shape(prompt)[1])[None, :]
    return ops.logical_and(positions < index, ops.logical_not(mask))


def _token_flags(tokens, flags, vocabulary):
    """`(rows, vocabulary)` bool: token `v` of row `r` is flagged when some
    position `p` has `tokens[r, p] == v` and `flags[r, p]`.

    A scatter into one spare column, which takes every unflagged position:
    the flagged cells only ever receive ones, whether a backend sums or
    overwrites repeated indices, and no `(rows, length, vocabulary)` one-hot
    is made.
    """
    rows, length = ops.shape(tokens)[0], ops.shape(tokens)[1]
    columns = ops.where(flags, ops.cast(tokens, "int32"), vocabulary)
    row_ids = ops.broadcast_to(ops.arange(rows, dtype="int32")[:, None], (rows, length))
    indices = ops.stack([ops.reshape(row_ids, (-1,)), ops.reshape(columns, (-1,))], -1)
    counts = ops.scatter(
        indices, ops.ones((rows * length,), "float32"), (rows, vocabulary + 1)
    )
    return counts[:, :vocabulary] > 0


def _shift(x, offset, fill):
    """`x[:, p + offset]` at position `p`, `fill` past the end."""
    if offset == 0:
        return x
    pad = ops.full((ops.shape(x)[0], offset), fill, dtype=x.dtype)
    return ops.concatenate([x[:, offset:], pad], axis=1)


def ngram_bans(tokens, generated, index, size, vocabulary):
    """`(rows, vocabulary)` bool: the tokens that would complete, at
    `index`, a `size`-gram already present among the generated tokens."""
    tokens = ops.cast(tokens, "int32")
    match = _shift(generated, size - 1, False)  # the n-gram's last token
    for offset in range(size - 1):
        # Token `offset` of the current n-gram, which ends at `index`.
        where = index - (size - 1) + offset
        clipped = ops.maximum(where, 0)
        current = ops.take(tokens, clipped, axis=1)
        current_ok = ops.logical_and(ops.take(generated, clipped, axis=1), where >= 0)
        same = ops.logical_and(
            ops.equal(_shift(tokens, offset, -1), current[:, None]),
            _shift(generated, offset, False),
        )
        match = ops.logical_and(match, ops.logical_and(same, current_ok[:, None]))
    return _token_flags(_shift(tokens, size - 1, 0), match, vocabulary)


class DecodingControls:
    """Mixin giving a `keras_hub.samplers.Sampler` the decoding controls.

    Put it before the keras-hub class: `class TopKSampler(DecodingControls,
    keras_hub.samplers.TopKSampler)`. On keras-hub's own decoding loop the
    controls act on the logits that `next` returns, before
    `compute_probabilities`, so `get_next_token` and the random stream are
    the sampler's own; with every control off the loop is keras-hub's.

    Args:
        no_repeat_ngram_size: int, no n-gram of this many generated tokens
            appears twice in an output (0: off).
        min_length: int, the stop tokens cannot be chosen before this many
            tokens are generated (0: off).
        repetition_penalty: float, CTRL's θ (Keskar et al., 2019): the logit
            `l` of a token already generated becomes `l / θ` if `l > 0`,
            else `l · θ` (1: off).
    """

    def __init__(
        self, no_repeat_ngram_size=0, min_length=0, repetition_penalty=1.0, **kwargs
    ):
        super().__init__(**kwargs)
        check_controls(no_repeat_ngram_size, min_length, repetition_penalty)
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self.min_length = min_length
        self.repetition_penalty = repetition_penalty

    @property
    def has_controls(self):
        return bool(
            self.no_repeat_ngram_size or self.min_length or self.repetition_penalty != 1
        )

    def penalize(self, logits, prompt, mask, index):
        """CTRL's repetition penalty on `(rows, vocabulary)` float32 logits."""
        if self.repetition_penalty == 1:
            return logits
        seen = _token_flags(
            prompt, generated_mask(prompt, mask, index), ops.shape(logits)[-1]
        )
        theta = self.repetition_penalty
        penalized = ops.where(logits > 0, logits / theta, logits * theta)
        return ops.where(seen, penalized, logits)

    def ban(self, values, prompt, mask, index, stop_token_ids):
        """`values` (logits or log-probabilities, float32) with the tokens
        that n-gram blocking and the minimum length forbid set to `BANNED`."""
        vocabulary = ops.shape(values)[-1]
        generated = generated_mask(prompt, mask, index)
        banned = None
        if self.no_repeat_ngram_size:
            banned = ngram_bans(
                prompt, generated, index, self.no_repeat_ngram_size, vocabulary
            )
        if self.min_length and stop_token_ids:
            count = ops.sum(ops.cast(generated, "int32"), axis=-1)
            short = count < self.min_length
            columns = ops.arange(vocabulary)
            is_stop = ops.zeros((vocabulary,), "bool")
            for stop in stop_token_ids:
                is_stop = ops.logical_or(is_stop, ops.equal(columns, stop))
            too_soon = ops.logical_and(short[:, None], is_stop[None, :])
            banned = too_soon if banned is None else ops.logical_or(banned, too_soon)
        if banned is None:
            return values
        return ops.where(banned, BANNED, values)

    def controlled_next(self, next, prompt, mask=None, stop_token_ids=None):
        """`next` with the controls applied to the logits it returns."""
        if not self.has_controls:
            return next
        mask = (
            ops.zeros_like(prompt, dtype="bool")
            if mask is None
            else ops.cast(mask, "bool")
        )

        def controlled(prompt, cache, index):
            logits, hidden_states, cache = next(prompt, cache, index)
            logits = self.penalize(ops.cast(logits, "float32"), prompt, mask, index)
            logits = self.ban(logits, prompt, mask, index, stop_token_ids)
            return logits, hidden_states, cache

        return controlled

    def __call__(
        self,
        next,
        prompt,
        cache=None,
        index=0,
        mask=None,
        stop_token_ids=None,
        hidden_states=None,
        model=None,
        **kwargs,
    ):
        return keras_hub.samplers.Sampler.__call__(
            self,
            self.controlled_next(next, prompt, mask, stop_token_ids),
            prompt,
            cache=cache,
            index=index,
            mask=mask,
            stop_token_ids=stop_token_ids,
            hidden_states=hidden_states,
            model=model,
            **kwargs,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "no_repeat_ngram_size": self.no_repeat_ngram_size,
                "min_length": self.min_length,
                "repetition_penalty": self.repetition_penalty,
            }
        )
        return config
