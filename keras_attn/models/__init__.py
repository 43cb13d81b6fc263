"""The seq2seq model: backbone, tokenizer, preprocessor and task."""

from keras_attn.models.attention_seq2seq_backbone import ATTENTIONS
from keras_attn.models.attention_seq2seq_backbone import AttentionSeq2SeqBackbone
from keras_attn.models.attention_seq2seq_lm import AttentionSeq2SeqLM
from keras_attn.models.attention_seq2seq_preprocessor import (
    AttentionSeq2SeqPreprocessor,
)
from keras_attn.models.attention_seq2seq_tokenizer import AttentionSeq2SeqTokenizer

__all__ = [
    "ATTENTIONS",
    "AttentionSeq2SeqBackbone",
    "AttentionSeq2SeqLM",
    "AttentionSeq2SeqPreprocessor",
    "AttentionSeq2SeqTokenizer",
]
