"""Attention layers and the attention decoder."""

from keras_attn.layers.attention_decoder import AttentionDecoder
from keras_attn.layers.attention_decoder_cell import AttentionDecoderCell
from keras_attn.layers.bahdanau_attention import BahdanauAttention
from keras_attn.layers.base_attention import BaseAttention
from keras_attn.layers.luong_attention import LuongAttention
from keras_attn.layers.pointer_generator import PointerGenerator

__all__ = [
    "AttentionDecoder",
    "AttentionDecoderCell",
    "BahdanauAttention",
    "BaseAttention",
    "LuongAttention",
    "PointerGenerator",
]
