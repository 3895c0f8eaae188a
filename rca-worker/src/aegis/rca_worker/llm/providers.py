"""Model aliases → chat models: qwen, glm and deepseek on Ollama, doubao on an OpenAI-compatible API.

The LangChain clients are imported only when a model is first used, so a deterministic-only worker
never loads them. Each alias's client is built once per process and reused, with its output capped
(`LLM_MAX_OUTPUT_TOKENS` as max_tokens / num_predict) and one turn bounded (`LLM_STEP_TIMEOUT_S`).
Tools travel with the provider: offered when `LLM_TOOLS=on`, never when `off`, and under `auto`
unless the model says it has none (Ollama's capabilities, checked at start-up), is known to lack
them (deepseek-r1), or refused or ignored them once in this process.
"""

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import structlog

from aegis.rca_worker.settings import OLLAMA_ALIASES, WorkerSettings
from aegis.shared.questions import ModelAlias

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

DEFAULT_OLLAMA_TAGS: dict[ModelAlias, str] = {
    "qwen": "qwen2.5:32b",
    "glm": "glm-4.7-flash:latest",
    "deepseek": "deepseek-r1:32b",
}
_NO_TOOLS = ("deepseek-r1",)
log = structlog.get_logger(__name__)


class ModelUnavailable(Exception):
    """The alias cannot be used here; the message says which setting is missing."""


@dataclass(frozen=True)
class Provider:
    """Which model an alias means, what it can do, and options of calls that offer tools."""

    alias: ModelAlias
    model: str
    tools: bool
    tool_call_options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """`qwen (qwen2.5:32b)`."""
        return f"{self.alias} ({self.model})"


def provider_for(alias: ModelAlias, settings: WorkerSettings) -> Provider:
    """The provider behind `alias`, or `ModelUnavailable` naming what is not configured."""
    if alias == "none":
        raise ModelUnavailable("model none is deterministic only")
    missing = settings.missing_for(alias)
    if missing:
        raise ModelUnavailable(f"{alias} is not configured: set {', '.join(missing)}")
    if alias in OLLAMA_ALIASES:
        tag = DEFAULT_OLLAMA_TAGS[alias]
        if alias == settings.default_model and settings.ollama_model:
            tag = settings.ollama_model
        tools = _offers_tools(settings, not any(marker in tag for marker in _NO_TOOLS))
        # Ollama before 0.8 returns tool calls only in a non-streamed answer.
        return Provider(alias, tag, tools, {"stream": False} if tools else {})
    return Provider(alias, settings.doubao_model or "", tools=_offers_tools(settings, True))


def _offers_tools(settings: WorkerSettings, capable: bool) -> bool:
    return settings.llm_tools == "on" or (settings.llm_tools == "auto" and capable)


def without_tools(provider: Provider) -> Provider:
    """`provider` answering in text."""
    return replace(provider, tools=False, tool_call_options={})


def build_chat_model(provider: Provider, settings: WorkerSettings) -> "BaseChatModel":
    """A LangChain chat model for `provider`: output capped, one turn's timeout on the HTTP client too."""
    timeout = min(settings.llm_step_timeout_s, settings.llm_timeout_s)
    if provider.alias in OLLAMA_ALIASES:
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=provider.model,
            base_url=settings.ollama_base_url,
            temperature=0.0,
            num_ctx=settings.ollama_num_ctx,
            num_predict=settings.llm_max_output_tokens,
            client_kwargs={"timeout": timeout},
        )
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=provider.model,
        base_url=settings.doubao_base_url,
        api_key=settings.doubao_api_key,
        temperature=0.0,
        timeout=timeout,
        max_retries=0,  # a retry would double the wait; the deterministic answer is the fallback
        max_completion_tokens=settings.llm_max_output_tokens,  # what llama.cpp and Ark read
        use_responses_api=False,
    )


class ChatModels:
    """One chat model per alias per process, built on first use."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        self._models: dict[ModelAlias, tuple[Provider, BaseChatModel]] = {}

    def get(self, alias: ModelAlias) -> "tuple[Provider, BaseChatModel]":
        """The provider and chat model of `alias`; `ModelUnavailable` when it cannot be used."""
        if alias not in self._models:
            provider = provider_for(alias, self._settings)
            self._models[alias] = (provider, build_chat_model(provider, self._settings))
        return self._models[alias]

    def without_tools(self, alias: ModelAlias, why: str) -> None:
        """From now on `alias` answers in text (under `LLM_TOOLS=auto`): it refused or ignored tools."""
        provider, chat = self.get(alias)
        if provider.tools and self._settings.llm_tools == "auto":
            log.info("llm answers without tools from now on", model=provider.describe(), why=why)
            self._models[alias] = (without_tools(provider), chat)
