"""Input limits of the embedded pipeline, from the environment (pydantic-settings, prefix OCRFLOW_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InputLimits(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OCRFLOW_", frozen=True)

    max_bytes: int = Field(default=200 * 1024 * 1024, gt=0, description="Largest file accepted")
    max_pages: int = Field(default=2000, gt=0, description="Most pages accepted in one document")
    max_pixels: int = Field(
        default=120_000_000, gt=0,
        description="Largest image or rendered page, in pixels (a guard against decompression bombs)",
    )
    min_dpi: float = Field(default=150, gt=0, description="Pages are never read below this resolution...")
    max_dpi: float = Field(default=400, gt=0, description="...nor above this one (absurd scan DPIs are capped)")
    vector_dpi: float = Field(default=300, gt=0, description="Resolution for pages that carry no image")
