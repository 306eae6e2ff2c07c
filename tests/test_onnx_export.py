"""`newsdesk export-onnx` (which `make` runs) says nothing about notes that do not apply, and hides nothing else."""

from __future__ import annotations

import logging
import warnings

import pytest

from newsdesk.adapters.onnx_export import QUANTIZER_ADVICE, quiet_export


def test_the_exporters_notes_are_hidden_and_everything_else_still_shows(caplog: pytest.LogCaptureFixture) -> None:
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        with quiet_export():
            # What torch 2.13 and onnxruntime print while exporting the encoder (seen in `make demo`'s output).
            warnings.warn("Converting a tensor to a Python boolean might cause the trace to be incorrect.",
                          torch.jit.TracerWarning, stacklevel=1)
            warnings.warn("Exporting aten::index operator of advanced indexing in opset 17 is achieved by combination "
                          "of multiple ONNX operators", UserWarning, stacklevel=1)
            logging.warning(QUANTIZER_ADVICE + ". Refer to example: https://github.com/microsoft/...")
            # Anything else is still said.
            warnings.warn("the tokenizer file is missing a field", UserWarning, stacklevel=1)
            logging.warning("a real problem")
        logging.warning(QUANTIZER_ADVICE + " (after the export: shown again)")
    assert [str(w.message) for w in seen] == ["the tokenizer file is missing a field"]
    assert caplog.messages == ["a real problem", QUANTIZER_ADVICE + " (after the export: shown again)"]
