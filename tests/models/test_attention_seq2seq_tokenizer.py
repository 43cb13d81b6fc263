"""The WordPiece tokenizer trained from a corpus."""

import pytest

from keras_attn.models import AttentionSeq2SeqTokenizer
from tests.models.corpus import reversal_pairs
from tests.testing import run_serialization_test


def test_from_corpus_reserves_the_special_tokens_first():
    sources, targets = reversal_pairs(50, seed=0)
    tokenizer = AttentionSeq2SeqTokenizer.from_corpus(
        sources + targets, vocabulary_size=80
    )
    assert tokenizer.get_vocabulary()[:4] == ["[PAD]", "[UNK]", "[START]", "[END]"]
    assert (
        tokenizer.pad_token_id,
        tokenizer.start_token_id,
        tokenizer.end_token_id,
    ) == (0, 2, 3)
    ids = tokenizer(["alpha beta"])
    assert tokenizer.detokenize(ids)[0] == "alpha beta"
    assert tokenizer.token_to_id("[UNK]") in list(tokenizer(["zzqx"])[0])


def test_config_round_trip():
    tokenizer = AttentionSeq2SeqTokenizer.from_corpus(
        ["a b c", "c d"], vocabulary_size=30
    )
    # As in keras-hub, the vocabulary is an asset saved beside the config.
    clone = run_serialization_test(tokenizer, compare_attributes=False)
    clone.set_vocabulary(tokenizer.get_vocabulary())
    assert clone.get_config() == tokenizer.get_config()
    assert clone.end_token_id == tokenizer.end_token_id


@pytest.mark.parametrize("texts", [[], ["", "   "], [None]])
def test_no_usable_text_is_an_error(texts):
    with pytest.raises(ValueError, match="at least one non-empty string"):
        AttentionSeq2SeqTokenizer.from_corpus(texts, vocabulary_size=30)


def test_a_unicode_space_in_the_corpus_leaves_no_empty_or_bare_suffix_token(
    tmp_path,
):
    # Tatoeba has "¿Qué\xa0hora es?": the learner keeps U+00A0 inside words.
    texts = ["¿Qué\xa0hora es?", "the cat sat", "the dog ran"] * 5
    tokenizer = AttentionSeq2SeqTokenizer.from_corpus(texts, vocabulary_size=100)
    vocabulary = tokenizer.get_vocabulary()
    assert not [t for t in vocabulary if not t.strip() or t.strip() == "##"]
    assert not [t for t in vocabulary if any(c.isspace() for c in t)]
    # The vocabulary file (one token a line) reads back as it was written.
    tokenizer.save_assets(str(tmp_path))
    clone = AttentionSeq2SeqTokenizer(vocabulary=None)
    clone.load_assets(str(tmp_path))
    assert clone.get_vocabulary() == vocabulary
    ids = tokenizer(["the cat ran"])
    assert tokenizer.detokenize(ids)[0] == "the cat ran"
