"""Beam search with GNMT's length penalty, as a keras-hub sampler."""

import keras
import keras_hub
from keras import ops
from keras import tree

from keras_attn._validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_attn")
class BeamSearchSampler(keras_hub.samplers.Sampler):
    """Beam search that ranks hypotheses by a length-normalised score.

    keras-hub's `BeamSampler` ranks by the raw sum of log-probabilities,
    which favours short outputs, and keeps extending beams after they end.
    This sampler follows GNMT (Wu et al., 2016): a finished hypothesis is
    frozen, and hypotheses are ranked by

        score = log P(y | x) / lp(y),   lp(y) = ((5 + |y|) / 6) ** alpha

    where `|y|` counts the generated tokens up to and including the end
    token and `alpha` is `length_penalty` (0 gives the raw log-probability).

    The greedy hypothesis rides along as one extra beam that is never pruned,
    and the result is the best-scoring of all beams, so beam search never
    returns a sequence that scores lower than greedy decoding's.

    Args:
        num_beams: int, the number of hypotheses kept per input.
        length_penalty: float, GNMT's `alpha`.
        temperature: float, divides the logits before the softmax.

    Call arguments:
        As `keras_hub.samplers.Sampler`: `next(prompt, cache, index)`
        returns `(logits, hidden_states, cache)`; every leaf of `cache` is
        expanded to `batch * (num_beams + 1)` rows inside the loop.
        `search()` takes the same arguments and also returns the best
        hypothesis's final cache.

    Example:
    A toy model whose next-token log-probabilities depend only on the
    previous token (token 1 ends a sequence). Greedy search takes 3 then
    pays for it; the beam finds the better `[2, 1]`.
    >>> import numpy as np
    >>> from keras import ops
    >>> import keras_attn
    >>> table = ops.convert_to_tensor(np.log([
    ...     [0.05, 0.15, 0.35, 0.45],  # after 0
    ...     [0.25, 0.25, 0.25, 0.25],  # after 1 (the end token)
    ...     [0.02, 0.9, 0.04, 0.04],   # after 2
    ...     [0.3, 0.1, 0.3, 0.3],      # after 3
    ... ]), "float32")
    >>> def next(prompt, cache, index):
    ...     return ops.take(table, ops.take(prompt, index - 1, axis=1), 0), None, cache
    >>> sampler = keras_attn.samplers.BeamSearchSampler(num_beams=2)
    >>> prompt = ops.zeros((1, 3), "int32")  # [START] is 0 here
    >>> ops.convert_to_numpy(sampler(next, prompt, index=1,
    ...                              stop_token_ids=[1])).tolist()
    [[0, 2, 1]]

    With a model: `lm.generate(texts, sampler="beam")`, or
    `lm.generate(texts, num_beams=5)`.

    References:
        - [Wu et al., 2016](https://arxiv.org/abs/1609.08144)
    """

    def __init__(self, num_beams=5, length_penalty=0.6, temperature=1.0):
        super().__init__(temperature=temperature)
        check_positive_int("num_beams", num_beams)
        if length_penalty < 0:
            raise ValueError(
                "`length_penalty` must be >= 0. "
                f"Received: length_penalty={length_penalty}"
            )
        self.num_beams = num_beams
        self.length_penalty = length_penalty

    def _penalty(self, lengths):
        lengths = ops.cast(lengths, "float32")
        return ops.power((5.0 + lengths) / 6.0, self.length_penalty)

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
    ):
        prompt, _ = self.search(
            next,
            prompt,
            cache=cache,
            index=index,
            mask=mask,
            stop_token_ids=stop_token_ids,
            model=model,
        )
        return prompt

    def search(
        self,
        next,
        prompt,
        cache=None,
        index=0,
        mask=None,
        stop_token_ids=None,
        model=None,
    ):
        """Runs the search and returns the best hypothesis with its cache.

        Every leaf of the cache is reordered with its hypothesis at every
        step, so a leaf that `next` writes per step (a history of attention
        weights, say) comes back as the returned hypothesis's own.

        Args:
            As `__call__`.

        Returns:
            A tuple `(prompt, cache)`: the best sequence `(batch, length)`
            per input, and the final cache of that hypothesis, each leaf
            with `batch` rows (the structure of the `cache` passed in).
        """
        beams = self.num_beams
        slots = beams + 1  # the last slot is the greedy hypothesis
        batch_size = ops.shape(prompt)[0]
        max_length = ops.shape(prompt)[1]
        index = ops.cast(index, "int32")
        stop_ids = list(stop_token_ids or [])
        fill_token = stop_ids[0] if stop_ids else 0

        def expand(x):
            return ops.repeat(x, slots, axis=0)

        def unflatten(x):
            return ops.reshape(x, (-1, slots) + tuple(ops.shape(x)[1:]))

        def flatten(x):
            return ops.reshape(x, (-1,) + tuple(ops.shape(x)[2:]))

        def is_stop(tokens):
            result = ops.zeros_like(tokens, dtype="bool")
            for stop in stop_ids:
                result = ops.logical_or(result, ops.equal(tokens, stop))
            return result

        mask = (
            ops.zeros_like(prompt, dtype="bool")
            if mask is None
            else ops.cast(mask, "bool")
        )
        prompt, mask = expand(prompt), expand(mask)
        cache = tree.map_structure(expand, cache if cache is not None else ())
        # Only the first beam is live at the start; the others would repeat it.
        start = ops.convert_to_tensor([0.0] + [-1e9] * (beams - 1) + [0.0], "float32")
        log_probs = ops.broadcast_to(start[None, :], (batch_size, slots))
        finished = ops.zeros((batch_size, slots), "bool")
        lengths = ops.zeros((batch_size, slots), "int32")

        def cond(prompt, cache, index, log_probs, finished, lengths):
            if not stop_ids:
                return ops.convert_to_tensor(True)
            return ops.logical_not(ops.all(finished))

        def body(prompt, cache, index, log_probs, finished, lengths):
            logits, _, cache = next(prompt, cache, index)
            vocab = ops.shape(logits)[-1]
            # log_softmax in one pass, exact where log(softmax) underflows.
            step = ops.log_softmax(
                ops.cast(logits, "float32") / self.temperature, axis=-1
            )
            step = unflatten(ops.cast(step, "float32"))  # (batch, slots, vocab)
            # A finished hypothesis continues only with the fill token, at no
            # cost, so its score stays frozen.
            frozen = ops.where(
                ops.arange(vocab)[None, None, :] == fill_token, 0.0, -1e9
            )
            step = ops.where(finished[..., None], frozen, step)
            total = log_probs[..., None] + step
            grown = lengths + ops.cast(ops.logical_not(finished), "int32")

            # Beam slots: the best `beams` continuations by normalised score.
            beam_total = ops.reshape(total[:, :beams], (batch_size, beams * vocab))
            beam_scores = beam_total / ops.repeat(
                self._penalty(grown[:, :beams]), vocab, axis=1
            )
            _, chosen = ops.top_k(beam_scores, k=beams, sorted=False)
            source = chosen // vocab
            tokens = chosen % vocab
            beam_log_probs = ops.take_along_axis(beam_total, chosen, axis=1)
            # The greedy slot: its own argmax, never pruned.
            greedy_token = ops.argmax(step[:, beams], axis=-1)
            greedy_log_prob = log_probs[:, beams] + ops.max(step[:, beams], axis=-1)

            source = ops.concatenate(
                [source, ops.full((batch_size, 1), beams, dtype=source.dtype)], axis=1
            )
            tokens = ops.concatenate(
                [tokens, ops.cast(greedy_token[:, None], tokens.dtype)], axis=1
            )

            def gather(x):
                x = unflatten(x)
                where = source
                for _ in range(len(x.shape) - 2):
                    where = ops.expand_dims(where, -1)
                return flatten(ops.take_along_axis(x, where, axis=1))

            prompt = gather(prompt)
            cache = tree.map_structure(gather, cache)
            lengths = ops.take_along_axis(grown, source, axis=1)
            was_finished = ops.take_along_axis(finished, source, axis=1)
            log_probs = ops.concatenate(
                [beam_log_probs, greedy_log_prob[:, None]], axis=1
            )

            tokens = ops.cast(flatten(tokens[..., None])[:, 0], prompt.dtype)
            tokens = ops.where(mask[:, index], prompt[:, index], tokens)
            prompt = ops.slice_update(prompt, [0, index], tokens[:, None])
            finished = ops.logical_or(
                was_finished, is_stop(ops.reshape(tokens, (batch_size, slots)))
            )
            return prompt, cache, index + 1, log_probs, finished, lengths

        prompt, cache, _, log_probs, _, lengths = self.run_loop(
            cond=cond,
            body=body,
            loop_vars=(prompt, cache, index, log_probs, finished, lengths),
            maximum_iterations=(max_length - index),
            model=model,
        )
        scores = log_probs / self._penalty(ops.maximum(lengths, 1))
        best = ops.argmax(scores, axis=-1)

        def pick_best(x):
            x = unflatten(x)
            where = best[:, None]
            for _ in range(len(x.shape) - 2):
                where = ops.expand_dims(where, -1)
            return ops.take_along_axis(x, where, axis=1)[:, 0]

        return pick_best(prompt), tree.map_structure(pick_best, cache)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_beams": self.num_beams, "length_penalty": self.length_penalty}
        )
        return config
