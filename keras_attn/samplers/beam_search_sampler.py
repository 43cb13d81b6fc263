"""Beam search with GNMT's length penalty, as a keras-hub sampler."""

import keras
import keras_hub
from keras import ops
from keras import tree

from keras_attn._validation import check_positive_int
from keras_attn.samplers._decoding_controls import DecodingControls
from keras_attn.samplers._decoding_controls import check_number


@keras.saving.register_keras_serializable(package="keras_attn")
class BeamSearchSampler(DecodingControls, keras_hub.samplers.Sampler):
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

    With `coverage_penalty` β > 0, a finished hypothesis (and every
    hypothesis in the final ranking) also gets GNMT's coverage penalty

        cp = β Σ_j log(min(Σ_t a_{t,j}, 1))

    over the source positions `j`, where `a_{t,j}` are the attention
    weights of output step `t`: hypotheses that leave source words
    unattended lose. The sampler reads the summed weights through the
    `attention_coverage` function its caller passes (`AttentionSeq2SeqLM`
    passes its own); without one it works with `coverage_penalty=0`.

    Args:
        num_beams: int, the number of hypotheses kept per input.
        length_penalty: float, GNMT's `alpha`.
        temperature: float, divides the logits before the softmax.
        no_repeat_ngram_size: int, no n-gram of this many generated tokens
            appears twice in a hypothesis (0: off).
        min_length: int, no stop token before this many generated tokens
            (0: off).
        repetition_penalty: float, CTRL's θ: the logit `l` of a token
            already in the hypothesis becomes `l / θ` if `l > 0`, else
            `l · θ` (1: off).
        coverage_penalty: float, GNMT's β (0: off).

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

    `search(..., num_return_sequences=k, return_scores=True)` returns the
    `k` best distinct hypotheses per input with their scores.

    References:
        - [Wu et al., 2016](https://arxiv.org/abs/1609.08144)
        - [Keskar et al., 2019](https://arxiv.org/abs/1909.05858)
    """

    def __init__(
        self,
        num_beams=5,
        length_penalty=0.6,
        temperature=1.0,
        no_repeat_ngram_size=0,
        min_length=0,
        repetition_penalty=1.0,
        coverage_penalty=0.0,
    ):
        check_positive_int("num_beams", num_beams)
        check_number("length_penalty", length_penalty, ">= 0")
        check_number("coverage_penalty", coverage_penalty, ">= 0 (0 turns it off)")
        super().__init__(
            no_repeat_ngram_size=no_repeat_ngram_size,
            min_length=min_length,
            repetition_penalty=repetition_penalty,
            temperature=temperature,
        )
        self.num_beams = num_beams
        self.length_penalty = length_penalty
        self.coverage_penalty = coverage_penalty

    def _penalty(self, lengths):
        lengths = ops.cast(lengths, "float32")
        return ops.power((5.0 + lengths) / 6.0, self.length_penalty)

    def _coverage_score(self, coverage):
        """GNMT's cp = β Σ_j log(min(c_j, 1)) of `(rows, source_len)`."""
        coverage = ops.minimum(ops.cast(coverage, "float32"), 1.0)
        # A source token never attended to would give log(0): keep a number.
        coverage = ops.maximum(coverage, 1e-30)
        return self.coverage_penalty * ops.sum(ops.log(coverage), axis=-1)

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
        attention_coverage=None,
    ):
        prompt, _ = self.search(
            next,
            prompt,
            cache=cache,
            index=index,
            mask=mask,
            stop_token_ids=stop_token_ids,
            model=model,
            attention_coverage=attention_coverage,
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
        attention_coverage=None,
        num_return_sequences=1,
        return_scores=False,
    ):
        """Runs the search and returns the best hypotheses with their cache.

        Every leaf of the cache is reordered with its hypothesis at every
        step, so a leaf that `next` writes per step (a history of attention
        weights, say) comes back as the returned hypothesis's own.

        Args:
            next, prompt, cache, index, mask, stop_token_ids, model: as
                `__call__`.
            attention_coverage: a function `cache -> (rows, source_len)`
                float, the attention weights summed over the steps so far
                (`Σ_t a_{t,j}`) for each row of the cache, with 1 at source
                positions that are padding (they then add `log 1 = 0`).
                Needed when `coverage_penalty > 0`; the sampler never looks
                inside the cache otherwise.
            num_return_sequences: int `k` <= `num_beams`, how many distinct
                hypotheses to return per input, best first (the greedy
                hypothesis is a candidate too).
            return_scores: bool, also return their scores.

        Returns:
            A tuple `(prompt, cache)`, or `(prompt, cache, scores)` with
            `return_scores=True`. For `k = 1`: the best sequence `(batch,
            length)` per input, the final cache of that hypothesis (each
            leaf with `batch` rows, the structure passed in) and its score
            `(batch,)`. For `k > 1` each gets a second axis of `k`: `(batch,
            k, length)`, leaves `(batch, k, ...)`, scores `(batch, k)`. A
            score is the length-normalised log-probability under the
            sampler's temperature and repetition penalty (n-gram blocking
            and the minimum length remove tokens but do not renormalise),
            plus the coverage penalty; with `temperature=1`, no repetition
            penalty and no coverage penalty it is
            `AttentionSeq2SeqLM.score` of an output that ends. Should fewer
            than `k` distinct hypotheses exist, the rest score `-inf`.
        """
        check_positive_int("num_return_sequences", num_return_sequences)
        if num_return_sequences > self.num_beams:
            raise ValueError(
                "`num_return_sequences` must be <= num_beams "
                f"({self.num_beams}). Received: "
                f"num_return_sequences={num_return_sequences}"
            )
        if self.coverage_penalty and attention_coverage is None:
            raise ValueError(
                "`coverage_penalty` needs the attention weights: pass "
                "`attention_coverage`, a function from the cache to the summed "
                "attention (AttentionSeq2SeqLM.generate passes its own). "
                f"Received: coverage_penalty={self.coverage_penalty}, "
                "attention_coverage=None"
            )
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
        # Each hypothesis's coverage penalty, frozen once it ends.
        coverage = ops.zeros((batch_size, slots), "float32")

        def cond(prompt, cache, index, log_probs, finished, lengths, coverage):
            if not stop_ids:
                return ops.convert_to_tensor(True)
            return ops.logical_not(ops.all(finished))

        def body(prompt, cache, index, log_probs, finished, lengths, coverage):
            logits, _, cache = next(prompt, cache, index)
            vocab = ops.shape(logits)[-1]
            logits = self.penalize(ops.cast(logits, "float32"), prompt, mask, index)
            # log_softmax in one pass, exact where log(softmax) underflows.
            step = ops.log_softmax(logits / self.temperature, axis=-1)
            step = self.ban(step, prompt, mask, index, stop_ids)
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
            beam_scores = total[:, :beams] / self._penalty(grown[:, :beams])[..., None]
            if self.coverage_penalty:
                # This step's weights are in the cache already: the penalty
                # is known for every continuation, and GNMT adds it to
                # those that are (or now become) finished.
                now = unflatten(self._coverage_score(attention_coverage(cache)))
                coverage = ops.where(finished, coverage, now)
                ends = ops.logical_or(
                    finished[:, :beams, None], is_stop(ops.arange(vocab))[None, None]
                )
                beam_scores = beam_scores + ops.where(
                    ends, coverage[:, :beams, None], 0.0
                )
            beam_scores = ops.reshape(beam_scores, (batch_size, beams * vocab))
            _, chosen = ops.top_k(beam_scores, k=beams, sorted=False)
            source = chosen // vocab
            tokens = chosen % vocab
            beam_total = ops.reshape(total[:, :beams], (batch_size, beams * vocab))
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
            coverage = ops.take_along_axis(coverage, source, axis=1)
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
            return prompt, cache, index + 1, log_probs, finished, lengths, coverage

        prompt, cache, _, log_probs, _, lengths, coverage = self.run_loop(
            cond=cond,
            body=body,
            loop_vars=(prompt, cache, index, log_probs, finished, lengths, coverage),
            maximum_iterations=(max_length - index),
            model=model,
        )
        scores = log_probs / self._penalty(ops.maximum(lengths, 1)) + coverage

        def pick(x, chosen):
            x = unflatten(x)
            where = chosen
            for _ in range(len(x.shape) - 2):
                where = ops.expand_dims(where, -1)
            return ops.take_along_axis(x, where, axis=1)

        if num_return_sequences == 1:
            best = ops.argmax(scores, axis=-1)[:, None]
            outputs = (
                pick(prompt, best)[:, 0],
                tree.map_structure(lambda x: pick(x, best)[:, 0], cache),
                ops.take_along_axis(scores, best, axis=1)[:, 0],
            )
        else:
            ranked = _distinct_scores(unflatten(prompt), scores)
            best_scores, best = ops.top_k(ranked, k=num_return_sequences, sorted=True)
            outputs = (
                pick(prompt, best),
                tree.map_structure(lambda x: pick(x, best), cache),
                best_scores,
            )
        return outputs if return_scores else outputs[:2]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_beams": self.num_beams,
                "length_penalty": self.length_penalty,
                "coverage_penalty": self.coverage_penalty,
            }
        )
        return config


def _distinct_scores(sequences, scores):
    """`scores` `(batch, slots)` with `-inf` for every hypothesis that
    repeats one ranked above it (a higher score, or the same score in an
    earlier slot): the greedy slot may hold a beam's sequence."""
    same = ops.all(
        ops.equal(sequences[:, :, None, :], sequences[:, None, :, :]), axis=-1
    )
    slots = ops.shape(scores)[1]
    order = ops.arange(slots)
    earlier = (order[None, :] < order[:, None])[None]  # slot j before slot i
    mine, theirs = scores[:, :, None], scores[:, None, :]
    beats = ops.logical_or(
        theirs > mine, ops.logical_and(ops.equal(theirs, mine), earlier)
    )
    repeated = ops.any(ops.logical_and(same, beats), axis=-1)
    return ops.where(repeated, float("-inf"), scores)
