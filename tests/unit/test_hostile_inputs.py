"""Whatever the bytes, reading a document ends in pages or in one typed input error - never anything else."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocrflow.errors import InputError
from ocrflow.inputs.inspection import inspect_document
from ocrflow.inputs.limits import InputLimits
from ocrflow.inputs.raster import iter_page_images
from tests.conftest import SAMPLE_FILES

LIMITS = InputLimits(min_dpi=30, max_dpi=30, vector_dpi=30)  # decode everything, render small


def read_all_pages(data: bytes) -> int:
    info = inspect_document(data, LIMITS)
    count = 0
    for page in iter_page_images(data, info, [p.index for p in info.pages], LIMITS):
        page.image.close()
        count += 1
    return count


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.35, 0.5, 0.8, 0.99])
def test_truncated_samples(path, fraction):
    data = path.read_bytes()
    try:
        assert read_all_pages(data[: int(len(data) * fraction)]) >= 1
    except InputError as exc:
        assert exc.message and "\n" not in exc.message


MAGICS = [b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"II*\x00", b"MM\x00*", b"GIF89a", b"BM"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MAGICS), st.binary(max_size=2048))
def test_garbage_behind_a_valid_signature(magic, tail):
    try:
        read_all_pages(magic + tail)
    except InputError as exc:
        assert exc.code and exc.message


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SAMPLE_FILES), st.integers(min_value=0), st.binary(min_size=1, max_size=16))
def test_samples_with_bytes_overwritten(path, position, patch):
    data = bytearray(path.read_bytes())
    at = position % len(data)
    data[at:at + len(patch)] = patch
    try:
        read_all_pages(bytes(data))
    except InputError as exc:
        assert exc.code and exc.message
