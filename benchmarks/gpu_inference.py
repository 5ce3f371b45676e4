"""GPU check for arenalens inference: batched vs per-item generation, and batched Whisper's realtime factor.

Runs on one H100/H200 in well under 10 minutes with randomly initialised models of realistic size
built from configs (no weights are downloaded; figures measure throughput and memory, not quality):

  * text LLM (Llama-3-8B-shaped, bf16): items/s and peak GPU memory for length-sorted batched
    generation, arrival-order batched generation, and a per-item loop;
  * Whisper (large-v2-shaped, bf16): realtime factor (processing time / audio time) of batched
    transcription of synthetic audio.

Needs torch + transformers and this checkout (not an installed arenalens): both benchmarks run
through arenalens's own batching, `inference.generators.generate_all` (length-sorted batches,
batch halved on out-of-memory), so the figures are those of the shipped code path:

    python benchmarks/gpu_inference.py --out results.json

It refuses to run without CUDA (exit code 3) so CPU numbers are never reported as GPU numbers.
`--smoke-test-cpu` runs the same code with tiny configs on CPU to check the script itself; its
output says so and holds no performance figures worth reporting.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, installed or not
from inference.generators import (  # noqa: E402
    GenerationRequest,
    GenerationResult,
    Generator,
    generate_all,
)

LLM_CONFIGS: dict[str, dict[str, Any]] = {
    # Meta-Llama-3-8B-Instruct's shape (8.0 B parameters).
    "llama3-8b": dict(
        vocab_size=128_256,
        hidden_size=4096,
        intermediate_size=14_336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        rope_theta=500_000.0,
    ),
    # Llama-3.2-1B's shape (1.24 B, tied embeddings), for smaller cards.
    "llama3-1b": dict(
        vocab_size=128_256,
        hidden_size=2048,
        intermediate_size=8192,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        rope_theta=500_000.0,
        tie_word_embeddings=True,
    ),
    "tiny": dict(
        vocab_size=512,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
    ),
}
WHISPER_CONFIGS: dict[str, dict[str, Any]] = {
    # openai/whisper-large-v2's shape (1.55 B parameters), the seed paper's ASR.
    "whisper-large-v2": dict(
        vocab_size=51_865,
        num_mel_bins=80,
        d_model=1280,
        encoder_layers=32,
        decoder_layers=32,
        encoder_attention_heads=20,
        decoder_attention_heads=20,
        encoder_ffn_dim=5120,
        decoder_ffn_dim=5120,
    ),
    "tiny": dict(
        vocab_size=512,
        num_mel_bins=80,
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
    ),
}
SAMPLE_RATE = 16_000


def _cache_argument() -> str:
    """transformers renamed `past_key_values` to `cache` (5.x); use whichever this version takes."""
    import inspect

    from transformers import WhisperForConditionalGeneration

    params = inspect.signature(WhisperForConditionalGeneration.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


class NoGpuError(SystemExit):
    """Raised (exit code 3) when CUDA is not available and no smoke test was asked for."""


def require_cuda() -> None:
    """Fail loudly without a CUDA GPU: these figures are GPU figures or nothing."""
    if not torch.cuda.is_available():
        print(
            "gpu_inference.py: ERROR: torch.cuda.is_available() is False - no CUDA GPU here. "
            "This benchmark measures GPU throughput and memory and will not report CPU numbers. "
            "Run it on a machine with an NVIDIA GPU (H100/H200), or pass --smoke-test-cpu to "
            "check the script itself with tiny models.",
            file=sys.stderr,
        )
        raise NoGpuError(3)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device: torch.device) -> float | None:
    return (
        round(torch.cuda.max_memory_allocated(device) / 2**30, 2) if device.type == "cuda" else None
    )


def build_random(
    model_cls: Callable[..., Any], config: Any, device: torch.device, dtype: torch.dtype
) -> Any:
    """Random weights straight on the device in the target dtype (no fp32 copy, no download)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = model_cls(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


# -- text generation -----------------------------------------------------------


def make_prompts(n: int, vocab: int, min_len: int, max_len: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=generator).tolist()
    return [torch.randint(10, vocab, (length,), generator=generator) for length in lengths]


def left_pad(
    prompts: list[torch.Tensor], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = prompt
        mask[row, width - len(prompt) :] = 1
    return ids.to(device), mask.to(device)


class TimedBatches(Generator):
    """Wraps one batch function as an arenalens Generator; counts items, padding and batch sizes."""

    def __init__(self, run_batch: Callable[[list[str]], tuple[int, int]]):
        self.run_batch = run_batch  # item ids -> (real, padded) prompt cells of that batch
        self.real = self.padded = self.largest_batch = 0

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        real, padded = self.run_batch([r.item_id for r in requests])
        self.real, self.padded = self.real + real, self.padded + padded
        self.largest_batch = max(self.largest_batch, len(requests))
        return [GenerationResult(r.item_id, "") for r in requests]


def timed_generate_all(
    run_batch: Callable[[list[str]], tuple[int, int]],
    requests: list[GenerationRequest],
    batch_size: int,
    device: torch.device,
) -> dict[str, Any]:
    """`generate_all` over `requests` (its length-sorted batches and out-of-memory back-off, as
    `arenalens infer` runs them): seconds, items/s, peak memory, padding, largest batch."""
    timed = TimedBatches(run_batch)
    reset_peak(device)
    synchronize(device)
    started = time.perf_counter()
    results = generate_all(requests, timed, batch_size, progress=False)
    synchronize(device)
    elapsed = time.perf_counter() - started
    failed = [r.item_id for r in results if r.error]
    if failed:
        raise RuntimeError(f"{len(failed)} items failed even alone: {failed[:3]}")
    return {
        "items": len(requests),
        "seconds": round(elapsed, 3),
        "items_per_s": round(len(requests) / elapsed, 3),
        "peak_gpu_memory_gib": peak_gib(device),
        "prompt_padding_fraction": round(1 - timed.real / timed.padded, 3) if timed.padded else 0.0,
        "batch_size": timed.largest_batch,
    }


def bench_llm(args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**LLM_CONFIGS[args.llm], pad_token_id=0, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    started = time.perf_counter()
    model = build_random(LlamaForCausalLM, config, device, dtype)
    build_s = time.perf_counter() - started
    params = sum(p.numel() for p in model.parameters())
    prompts = make_prompts(args.items, config.vocab_size, args.min_prompt, args.max_prompt, seed=0)
    ids = [f"{i:06d}" for i in range(len(prompts))]  # arrival order sorts by id

    def run_batch(batch_ids: list[str]) -> tuple[int, int]:
        chosen = [prompts[int(i)] for i in batch_ids]
        input_ids, mask = left_pad(chosen, 0, device)
        with torch.inference_mode():
            model.generate(
                input_ids=input_ids,
                attention_mask=mask,
                max_new_tokens=args.new_tokens,
                min_new_tokens=args.new_tokens,
                do_sample=False,
                pad_token_id=0,
            )
        return int(mask.sum()), mask.numel()

    def requests(count: int, by_length: bool) -> list[GenerationRequest]:
        # equal lengths keep item-id (arrival) order in generate_all: the unsorted baseline
        return [
            GenerationRequest(ids[i], length=float(len(prompts[i]) if by_length else 0))
            for i in range(count)
        ]

    warm = min(4, len(prompts))
    timed_generate_all(run_batch, requests(warm, True), warm, device)  # warm-up
    sorted_run = timed_generate_all(
        run_batch, requests(len(prompts), True), args.batch_size, device
    )
    arrival_run = timed_generate_all(
        run_batch, requests(len(prompts), False), sorted_run["batch_size"], device
    )
    loop_run = timed_generate_all(
        run_batch, requests(min(args.loop_items, len(prompts)), True), 1, device
    )
    reset_peak(device)
    return {
        "config": args.llm,
        "parameters_b": round(params / 1e9, 3),
        "dtype": str(dtype).replace("torch.", ""),
        "build_seconds": round(build_s, 1),
        "prompt_tokens_range": [args.min_prompt, args.max_prompt],
        "new_tokens_per_item": args.new_tokens,
        "batched_length_sorted": sorted_run,
        "batched_arrival_order": arrival_run,
        "per_item_loop": loop_run,
        "speedup_batched_vs_loop": round(sorted_run["items_per_s"] / loop_run["items_per_s"], 2),
    }


# -- Whisper -------------------------------------------------------------------


def synthetic_speechlike_audio(n: int, min_s: float, max_s: float, seed: int) -> list[torch.Tensor]:
    """Amplitude-modulated harmonic tones plus noise, 16 kHz: the model is random, so content is irrelevant."""
    generator = torch.Generator().manual_seed(seed)
    clips = []
    for _ in range(n):
        seconds = float(min_s + (max_s - min_s) * torch.rand(1, generator=generator))
        t = torch.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
        pitch = 100 + 150 * float(torch.rand(1, generator=generator))
        voiced = sum(torch.sin(2 * math.pi * pitch * k * t) / k for k in range(1, 6))
        envelope = 0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t)
        clips.append(0.1 * voiced * envelope + 0.01 * torch.randn(len(t), generator=generator))
    return clips


def log_mel(clips: list[torch.Tensor], n_mels: int, device: torch.device) -> torch.Tensor:
    """Whisper's log-mel front end (30 s windows, 25 ms / 10 ms STFT) computed on the device."""
    from transformers.audio_utils import mel_filter_bank

    n_fft, hop, frames = 400, 160, 3000
    audio = torch.zeros((len(clips), 30 * SAMPLE_RATE), device=device)
    for row, clip in enumerate(clips):
        audio[row, : len(clip)] = clip[: 30 * SAMPLE_RATE].to(device)
    window = torch.hann_window(n_fft, device=device)
    stft = torch.stft(audio, n_fft, hop, window=window, return_complex=True)
    power = stft[..., :-1].abs() ** 2
    filters = torch.tensor(
        mel_filter_bank(
            1 + n_fft // 2, n_mels, 0.0, 8000.0, SAMPLE_RATE, norm="slaney", mel_scale="slaney"
        ),
        device=device,
        dtype=torch.float32,
    )
    mel = (filters.T @ power).clamp(min=1e-10).log10()
    mel = torch.maximum(mel, mel.amax(dim=(-2, -1), keepdim=True) - 8.0)
    return ((mel + 4.0) / 4.0)[..., :frames]


def bench_whisper(
    args: argparse.Namespace, device: torch.device, dtype: torch.dtype
) -> dict[str, Any]:
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    cache_arg = _cache_argument()
    config = WhisperConfig(
        **WHISPER_CONFIGS[args.whisper],
        decoder_start_token_id=1,
        bos_token_id=1,
        pad_token_id=0,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    model = build_random(WhisperForConditionalGeneration, config, device, dtype)
    params = sum(p.numel() for p in model.parameters())
    clips = synthetic_speechlike_audio(args.audio_items, 3.0, 15.0, seed=0)
    audio_seconds = sum(len(c) for c in clips) / SAMPLE_RATE
    ids = [f"{i:06d}" for i in range(len(clips))]

    def run_batch(batch_ids: list[str]) -> tuple[int, int]:
        batch = [clips[int(i)] for i in batch_ids]
        features = log_mel(batch, config.num_mel_bins, device).to(dtype)
        start_ids = torch.full((len(batch), 1), config.decoder_start_token_id, device=device)
        with torch.inference_mode():
            encoded = model.model.encoder(features).last_hidden_state
            # Plain greedy decoding of a fixed transcript length: random weights cannot stop on EOS.
            tokens = start_ids
            past = None
            for _ in range(args.whisper_tokens):
                out = model(
                    encoder_outputs=(encoded,),
                    decoder_input_ids=tokens[:, -1:],
                    use_cache=True,
                    **{cache_arg: past},
                )
                past = getattr(out, cache_arg)
                tokens = torch.cat([tokens, out.logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        real = sum(len(c) for c in batch)
        return real, max(len(c) for c in batch) * len(batch)

    def transcribe(count: int, batch_size: int) -> dict[str, Any]:
        requests = [
            GenerationRequest(ids[i], length=len(clips[i]) / SAMPLE_RATE) for i in range(count)
        ]
        run = timed_generate_all(run_batch, requests, batch_size, device)
        seconds = sum(len(clips[i]) for i in range(count)) / SAMPLE_RATE
        return {
            "seconds": run["seconds"],
            "realtime_factor": round(run["seconds"] / seconds, 5),
            "x_realtime": round(seconds / run["seconds"], 1),
            "peak_gpu_memory_gib": run["peak_gpu_memory_gib"],
            "batch_size": run["batch_size"],
        }

    transcribe(min(2, len(clips)), 2)  # warm-up
    batched = transcribe(len(clips), args.whisper_batch)
    one_by_one = transcribe(len(clips), 1)
    reset_peak(device)
    return {
        "config": args.whisper,
        "parameters_b": round(params / 1e9, 3),
        "dtype": str(dtype).replace("torch.", ""),
        "clips": len(clips),
        "audio_seconds": round(audio_seconds, 1),
        "tokens_per_clip": args.whisper_tokens,
        "batched": batched,
        "one_at_a_time": one_by_one,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", default="gpu_inference_results.json", help="where to write the JSON figures"
    )
    parser.add_argument("--llm", choices=sorted(LLM_CONFIGS), default="llama3-8b")
    parser.add_argument("--items", type=int, default=128, help="prompts for the batched runs")
    parser.add_argument("--loop-items", type=int, default=16, help="prompts for the per-item loop")
    parser.add_argument(
        "--batch-size", type=int, default=64, help="starting batch size (halved on OOM)"
    )
    parser.add_argument("--min-prompt", type=int, default=16)
    parser.add_argument("--max-prompt", type=int, default=256)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--whisper", choices=sorted(WHISPER_CONFIGS), default="whisper-large-v2")
    parser.add_argument("--audio-items", type=int, default=64)
    parser.add_argument("--whisper-batch", type=int, default=32)
    parser.add_argument("--whisper-tokens", type=int, default=48)
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--skip-whisper", action="store_true")
    parser.add_argument(
        "--smoke-test-cpu",
        action="store_true",
        help="check the script on CPU with tiny configs and few items (figures are NOT GPU figures)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.smoke_test_cpu:
        device, dtype = torch.device("cpu"), torch.float32
        args.llm = args.whisper = "tiny"
        args.items, args.loop_items, args.batch_size = (
            min(args.items, 6),
            min(args.loop_items, 2),
            min(args.batch_size, 4),
        )
        args.max_prompt, args.new_tokens = min(args.max_prompt, 24), min(args.new_tokens, 4)
        args.audio_items, args.whisper_batch, args.whisper_tokens = (
            min(args.audio_items, 3),
            2,
            min(args.whisper_tokens, 3),
        )
        print("SMOKE TEST ON CPU with tiny models: these are NOT GPU figures", file=sys.stderr)
    else:
        require_cuda()
        device, dtype = torch.device("cuda"), torch.bfloat16
    import transformers

    results: dict[str, Any] = {
        "smoke_test_cpu": bool(args.smoke_test_cpu),
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else "cpu (smoke test)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "command": " ".join(
            ["python", "benchmarks/gpu_inference.py", *(argv if argv is not None else sys.argv[1:])]
        ),
    }
    started = time.perf_counter()
    if not args.skip_llm:
        results["llm_generation"] = bench_llm(args, device, dtype)
        print(json.dumps(results["llm_generation"], indent=2), file=sys.stderr)
    if not args.skip_whisper:
        results["whisper"] = bench_whisper(args, device, dtype)
        print(json.dumps(results["whisper"], indent=2), file=sys.stderr)
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=2)
    print(f"wrote {args.out} ({results['device']}, {results['total_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
