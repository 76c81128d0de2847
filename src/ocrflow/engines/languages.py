"""Language codes: users may say ISO 639-1 (`en`), ISO 639-2 (`eng`) or a `+`-joined list (`en+de`)."""

from __future__ import annotations

from ocrflow.errors import LanguageNotAvailableError

ISO_639_1_TO_3 = {
    "en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "pt": "por", "nl": "nld", "pl": "pol",
    "ru": "rus", "uk": "ukr", "cs": "ces", "sv": "swe", "da": "dan", "fi": "fin", "no": "nor", "tr": "tur",
    "el": "ell", "hu": "hun", "ro": "ron", "ja": "jpn", "zh": "chi_sim", "ko": "kor", "ar": "ara", "he": "heb",
    "hi": "hin", "kk": "kaz", "hr": "hrv", "sk": "slk", "sl": "slv", "bg": "bul", "vi": "vie", "th": "tha",
}
ISO_639_3_TO_1 = {v: k for k, v in ISO_639_1_TO_3.items()}


def parse_languages(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """Normalise a language spec to ISO 639-2 codes (Tesseract's names), order kept, duplicates dropped."""
    parts = spec.replace(",", "+").split("+") if isinstance(spec, str) else list(spec)
    codes: list[str] = []
    for part in parts:
        code = part.strip().lower()
        if not code:
            continue
        code = ISO_639_1_TO_3.get(code, code)
        if not code.replace("_", "").isalpha() or len(code) > 12:
            raise LanguageNotAvailableError(f"{part!r} is not a language code (try eng, deu or en+de)")
        if code not in codes:
            codes.append(code)
    if not codes:
        raise LanguageNotAvailableError("no language given (try eng, deu or en+de)")
    return codes
