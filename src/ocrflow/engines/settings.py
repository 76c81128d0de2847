"""Settings of the embedded engines, from the environment (pydantic-settings, prefix OCRFLOW_)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SecondEngineMode(StrEnum):
    AUTO = "auto"      # pages Tesseract reads weakly are read again; the better reading wins
    OFF = "off"        # Tesseract only: onnxruntime is never imported
    ALWAYS = "always"  # every OCRed page is read by both engines; the better reading wins


class EngineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OCRFLOW_", frozen=True)

    second_engine: SecondEngineMode = Field(
        default=SecondEngineMode.AUTO, description="When RapidOCR reads a page again after Tesseract")
    second_engine_confidence: float = Field(
        default=0.75, ge=0, le=1,
        description="auto: a Tesseract reading whose mean word confidence is below this is read again")
    second_engine_few_words: int = Field(
        default=12, ge=0, description="auto: so is one with fewer words than this (receipts, photos, labels)")
    second_engine_unsure_share: float = Field(
        default=0.12, ge=0, le=1, description="auto: so is one where this share of its words are read with "
        "confidence under 0.6 (scanned receipts: 0.17-0.23; the clean print and typewritten pages: at most 0.09)")
    second_engine_function: str | None = Field(
        default=None, description="the Lambda function (name or ARN) that reads pages with RapidOCR, where this "
        "process has no RapidOCR of its own (set by the CDK app on the process and range functions)")
    second_engine_threads: int = Field(
        default=1, gt=0, description="onnxruntime threads per page (the provider already reads pages in parallel)")
