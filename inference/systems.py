"""Systems under test, declared in YAML: ASR -> text LLM pipelines and end-to-end audio LMs
(a transformers model, or an OpenAI-compatible endpoint that hears the audio and may answer aloud)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from arenalens.datafiles import read_yaml
from inference.errors import SystemConfigError

# Talk Arena's system prompt, used when a system declares none.
DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant. Respond conversationally to the speech provided."
)
SHIPPED_SYSTEMS_FILE = Path(__file__).resolve().parents[1] / "data" / "systems.yaml"
SYSTEMS_FILE_NAME = "systems.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class GenerationParams(_Strict):
    """Decoding parameters; temperature 0 means greedy decoding."""

    max_new_tokens: int = Field(default=256, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)

    @property
    def do_sample(self) -> bool:
        return self.temperature > 0


class AsrSpec(_Strict):
    """The speech recogniser of a pipeline (see `inference.transcribe.make_transcriber`)."""

    backend: Literal["faster-whisper", "transformers"] = "faster-whisper"
    model: str = "default"


class LlmSpec(_Strict):
    """The text LLM of a pipeline (a transformers model, a vLLM model or an OpenAI-compatible
    endpoint), or the OpenAI-compatible endpoint of an end-to-end system."""

    backend: Literal["transformers", "openai", "vllm"] = "transformers"
    model: str
    revision: str | None = None
    base_url: str | None = None
    api_key_env: str = "ARENALENS_LLM_API_KEY"
    concurrency: int = Field(default=4, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)
    voice: str | None = Field(
        default=None, description="the voice of an endpoint that answers aloud (default alloy)"
    )
    stream_audio: bool = Field(
        default=False,
        description="ask an endpoint that answers aloud for a stream (PCM16, 24 kHz), so time "
        "to first audio is its first chunk rather than the whole answer",
    )

    @model_validator(mode="after")
    def _endpoint_needs_url(self) -> LlmSpec:
        if self.backend == "openai" and not self.base_url:
            raise ValueError("llm.base_url is required when llm.backend is 'openai'")
        return self


class TtsSpec(_Strict):
    """The speech synthesiser of a system that answers aloud (`output: speech`): espeak-ng
    offline, or any OpenAI-compatible `/v1/audio/speech` endpoint (`base_url`)."""

    backend: Literal["espeak-ng", "openai"] = "espeak-ng"
    voice: str | None = Field(default=None, description="espeak-ng voice (en-us) or endpoint voice")
    model: str = "tts-1"
    base_url: str | None = None
    api_key_env: str = "ARENALENS_TTS_API_KEY"
    words_per_minute: int = Field(default=160, ge=40, le=600)
    concurrency: int = Field(default=1, ge=1)
    timeout_s: float = Field(default=120.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`tts: espeak-ng` names the offline synthesiser; a mapping with `base_url` an endpoint."""
        if isinstance(value, str):
            return {"backend": value}
        if isinstance(value, dict) and value.get("base_url") and "backend" not in value:
            return {**value, "backend": "openai"}
        return value

    @model_validator(mode="after")
    def _endpoint_needs_url(self) -> TtsSpec:
        if self.backend == "openai" and not self.base_url:
            raise ValueError("tts.base_url is required for an OpenAI-compatible speech endpoint")
        return self


class SystemSpec(_Strict):
    """One system: how a query becomes an answer (text, or speech with `output: speech`), with
    prompt, decoding and seed."""

    name: str
    kind: Literal["pipeline", "end_to_end"]
    description: str = ""
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    asr: AsrSpec | None = None
    llm: LlmSpec | None = None
    model: str | None = Field(
        default=None,
        description="end_to_end: transformers name or path (or `llm` for an endpoint)",
    )
    model_class: str = "Qwen2AudioForConditionalGeneration"
    revision: str | None = None
    generation: GenerationParams = Field(default_factory=GenerationParams)
    output: Literal["text", "speech"] = "text"
    tts: TtsSpec | None = None
    seed: int = 0
    batch_size: int = Field(default=8, ge=1)
    max_batch_length: float | None = Field(
        default=None,
        gt=0,
        description="cap on batch size x longest item (characters, or seconds of audio)",
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> SystemSpec:
        if self.kind == "pipeline":
            if self.llm is None:
                raise ValueError("a pipeline system needs an `llm` section")
            if self.asr is None:
                self.asr = AsrSpec()
        elif bool(self.model) == (self.llm is not None):
            raise ValueError(
                "an end_to_end system needs `model` (a transformers name or path) or "
                "`llm` (an OpenAI-compatible endpoint serving an audio model), not both"
            )
        elif self.llm is not None and self.llm.backend != "openai":
            raise ValueError("an end_to_end system's `llm` is an endpoint: `backend: openai`")
        if self.output == "speech" and self.tts is None and not self.on_endpoint:
            self.tts = TtsSpec()  # a local model writes text: espeak-ng speaks it
        if self.output == "text" and self.tts is not None:
            raise ValueError("`tts` is for systems with `output: speech`")
        if self.llm is not None and self.llm.voice is not None and not self.speaks_itself:
            raise ValueError(
                "llm.voice is for an endpoint that answers aloud (`output: speech` without `tts`)"
            )
        return self

    @property
    def on_endpoint(self) -> bool:
        """Whether an OpenAI-compatible endpoint answers (`llm.backend: openai`)."""
        return self.llm is not None and self.llm.backend == "openai"

    @property
    def hears_audio(self) -> bool:
        """Whether the system hears the query's audio (end-to-end) rather than reading text."""
        return self.kind == "end_to_end"

    @property
    def speaks_itself(self) -> bool:
        """Whether the model answers aloud itself: an endpoint asked for text and audio
        (`output: speech` without `tts`), not a synthesiser after it."""
        return self.output == "speech" and self.tts is None

    @property
    def model_id(self) -> str:
        """What the run records as the model (the LLM or endpoint model, the audio LM otherwise)."""
        return self.llm.model if self.llm else str(self.model)

    def params_record(self) -> dict[str, Any]:
        """Parameters stored with every output so a result can be reproduced."""
        return self.model_dump(mode="json", exclude={"description"})


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(system)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_systems(data: Any, source: str = "<systems>") -> dict[str, SystemSpec]:
    """Validate a `{systems: {name: {...}}}` mapping into SystemSpecs."""
    if not isinstance(data, dict) or not isinstance(data.get("systems"), dict):
        raise SystemConfigError(
            f"{source}: expected a top-level `systems:` mapping of name -> system"
        )
    systems: dict[str, SystemSpec] = {}
    for name, body in data["systems"].items():
        if not isinstance(body, dict):
            raise SystemConfigError(f"{source}: system {name!r}: expected a mapping of fields")
        try:
            systems[str(name)] = SystemSpec(name=str(name), **body)
        except ValidationError as exc:
            raise SystemConfigError(f"{source}: system {name!r}: {_describe(exc)}") from exc
        except TypeError as exc:
            raise SystemConfigError(f"{source}: system {name!r}: {exc}") from exc
    return systems


def load_systems(path: str | Path) -> dict[str, SystemSpec]:
    """Read a systems YAML file (see data/systems.yaml for the format)."""
    path = Path(path)
    return parse_systems(read_yaml(path, SystemConfigError, "systems file"), str(path))


def default_systems_file(workspace: Path) -> Path:
    """The workspace's systems.yaml when present, else the shipped example."""
    local = Path(workspace) / SYSTEMS_FILE_NAME
    return local if local.is_file() else SHIPPED_SYSTEMS_FILE


def get_system(systems: dict[str, SystemSpec], name: str, source: str = "") -> SystemSpec:
    """Look a system up by name; the error lists the names that exist."""
    if name not in systems:
        where = f" in {source}" if source else ""
        raise SystemConfigError(
            f"no system named {name!r}{where}; known: {', '.join(sorted(systems)) or 'none'}"
        )
    return systems[name]
