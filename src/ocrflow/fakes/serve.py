"""`ocrflow fake-provider NAME`: one fake in the foreground, with the settings that point ocrflow at it."""

from __future__ import annotations

import contextlib
import sys

from ocrflow.errors import ConfigError
from ocrflow.fakes.registry import fake_class
from ocrflow.providers.names import ProviderName

#: credentials every fake accepts, so `ocrflow ocr --provider NAME` works against it out of the box
FAKE_CREDENTIALS = {
    ProviderName.ADOBE: {"CLIENT_ID": "fake-client-id", "CLIENT_SECRET": "fake-client-secret"},
    ProviderName.OCRSPACE: {"API_KEY": "fake-ocrspace-key"},
    ProviderName.PDFOCR: {"API_KEY": "fake-pdfocr-key"},
    ProviderName.PDFMAGE: {"API_KEY": "pk_live_fake"},
    ProviderName.YANDEX: {"API_KEY": "fake-yandex-key"},
}


def parse_fault(spec: str) -> tuple[str, int | None]:
    mode, _, times = spec.partition(":")
    if not times:
        return mode, None
    if not times.isdigit() or int(times) < 1:
        raise ConfigError(f"fault {spec!r}: TIMES must be a positive number")
    return mode, int(times)


def serve_fake(name: str, port: int, faults: list[str]) -> int:
    provider = ProviderName(name)
    fake = fake_class(provider)(port=port)
    for spec in faults:
        mode, times = parse_fault(spec)
        try:
            fake.faults.inject(mode, times)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    prefix = f"OCRFLOW_{provider.value.upper()}_"
    print(f"fake {provider.value} listening on {fake.base_url} (Ctrl-C stops it); point ocrflow at it with:")
    print(f"  export {prefix}ENDPOINT={fake.base_url}")
    for key, value in fake_environment(provider, fake.base_url).items():
        if not key.endswith("_ENDPOINT"):
            print(f"  export {key}={value}")
    print(f"  ocrflow ocr events/samples/letter.pdf -o out --provider {provider.value}")
    sys.stdout.flush()
    with contextlib.suppress(KeyboardInterrupt):
        fake.serve_forever()
    return 0


def fake_environment(provider: ProviderName, base_url: str) -> dict[str, str]:
    """Environment variables that configure ocrflow's client for this provider's fake at `base_url`."""
    prefix = f"OCRFLOW_{provider.value.upper()}_"
    env = {f"{prefix}ENDPOINT": base_url}
    env.update({prefix + key: value for key, value in FAKE_CREDENTIALS[provider].items()})
    if provider is ProviderName.YANDEX:
        env[f"{prefix}OPERATION_ENDPOINT"] = base_url
    return env
