"""Fixtures: the small ONNX models of onnx_builders.py, written to a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("onnx")

from tests.importers.onnx_builders import (  # noqa: E402
    build_attention,
    build_attention_op,
    build_convnet,
    build_mlp,
    build_unknown_op,
)


@pytest.fixture
def convnet(tmp_path: Path) -> Path:
    return build_convnet(tmp_path / "convnet.onnx")


@pytest.fixture
def mlp(tmp_path: Path) -> Path:
    return build_mlp(tmp_path / "mlp.onnx")


@pytest.fixture
def attention(tmp_path: Path) -> Path:
    return build_attention(tmp_path / "attention.onnx")


@pytest.fixture
def attention_op(tmp_path: Path) -> Path:
    return build_attention_op(tmp_path / "attention_op.onnx")


@pytest.fixture
def unknown_op(tmp_path: Path) -> Path:
    return build_unknown_op(tmp_path / "unknown.onnx")
