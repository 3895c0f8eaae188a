"""Whether the configured models exist, asked once at start-up, so a typo shows before a question.

Ollama lists what it has pulled at `GET /api/tags` and tells a model's capabilities (`tools` among
them) at `POST /api/show`; an OpenAI-compatible API (Doubao's Ark, llama.cpp's server) lists its
models at `GET <base>/models`. A model that is missing or an API that cannot be reached does not stop
the worker — every answer can still be the deterministic one — but it is logged, set on the
`aegis_rca_llm_model_available` gauge, and said by `/readyz` as a warning.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from aegis.rca_worker.llm.providers import ChatModels, ModelUnavailable, Provider
from aegis.rca_worker.settings import OLLAMA_ALIASES, WorkerSettings
from aegis.shared.questions import ModelAlias

log = structlog.get_logger(__name__)
ALIASES: tuple[ModelAlias, ...] = (*OLLAMA_ALIASES, "doubao")


@dataclass(frozen=True)
class ModelCheck:
    """What start-up found about one alias: available (None: the API cannot list), why, and tools."""

    alias: ModelAlias
    model: str
    available: bool | None
    detail: str
    tools: bool | None = None

    def warning(self) -> str | None:
        """The readiness warning, when the model is missing or its API unreachable."""
        if self.available is False:
            return f"model {self.alias} ({self.model}): {self.detail}"
        return None


def _listed(name: str, names: set[str]) -> bool:
    return name in names or f"{name}:latest" in names or name.removesuffix(":latest") in names


async def _ollama(http: httpx.AsyncClient, base: str, provider: Provider, timeout_s: float) -> ModelCheck:
    tags = (await http.get(f"{base}/api/tags", timeout=timeout_s)).raise_for_status().json()
    names = {m.get(key, "") for m in tags.get("models", []) for key in ("name", "model")}
    if not _listed(provider.model, names):
        return ModelCheck(provider.alias, provider.model, False, f"not pulled (ollama pull {provider.model})")
    shown = await http.post(f"{base}/api/show", json={"model": provider.model}, timeout=timeout_s)
    capabilities = shown.json().get("capabilities") if shown.is_success else None
    tools = None if capabilities is None else "tools" in capabilities
    return ModelCheck(provider.alias, provider.model, True, "pulled", tools)


async def _openai(
    http: httpx.AsyncClient, settings: WorkerSettings, provider: Provider, timeout_s: float
) -> ModelCheck:
    key = settings.doubao_api_key.get_secret_value() if settings.doubao_api_key else ""
    base = (settings.doubao_base_url or "").rstrip("/")
    answer = await http.get(f"{base}/models", headers={"Authorization": f"Bearer {key}"}, timeout=timeout_s)
    if answer.status_code in (404, 405):
        return ModelCheck(provider.alias, provider.model, None, "the API does not list its models")
    payload: Any = answer.raise_for_status().json()
    names = {m.get("id", "") for m in payload.get("data", []) if isinstance(m, dict)}
    if _listed(provider.model, names):
        return ModelCheck(provider.alias, provider.model, True, "listed")
    return ModelCheck(
        provider.alias, provider.model, False, f"not among the {len(names)} models the API lists"
    )


async def check_model(
    http: httpx.AsyncClient, settings: WorkerSettings, provider: Provider, timeout_s: float = 5.0
) -> ModelCheck:
    """Ask the model's API whether it has the model; never raises."""
    try:
        if provider.alias in OLLAMA_ALIASES:
            base = (settings.ollama_base_url or "").rstrip("/")
            return await _ollama(http, base, provider, timeout_s)
        return await _openai(http, settings, provider, timeout_s)
    except (httpx.HTTPError, ValueError) as error:
        detail = f"{type(error).__name__}: {str(error)[:160]}"
        return ModelCheck(provider.alias, provider.model, False, f"API unreachable or failing: {detail}")


async def check_models(
    http: httpx.AsyncClient, settings: WorkerSettings, models: ChatModels
) -> list[ModelCheck]:
    """Check every configured alias; a model Ollama says has no tools answers in text from now on."""
    checks = []
    for alias in ALIASES:
        try:
            provider, _ = models.get(alias)
        except ModelUnavailable:
            continue  # not configured: questions naming it are answered deterministically, with why
        check = await check_model(http, settings, provider)
        if check.tools is False:
            models.without_tools(alias, "Ollama lists no tools capability")
        if check.available is False:
            log.warning("llm model not available", alias=alias, model=check.model, detail=check.detail)
        else:
            log.info("llm model checked", alias=alias, model=check.model, detail=check.detail)
        checks.append(check)
    return checks
