"""A small PatchTST (Nie et al., "A Time Series is Worth 64 Words"): instance norm, patches, a transformer
encoder, a flatten head."""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import BaseModel, Field

from tasks.timeseries.forecaster import TorchForecaster, TrainingParams


class PatchTSTParams(TrainingParams):
    PRESETS: ClassVar[dict[str, dict]] = {
        "cpu": {},
        # scripts/PatchTST.sh and run.py of TanQitai/SynTSBench: 3 layers, 4 heads, d_model 512 and d_ff 2048 (run.py's
        # defaults), dropout 0.1, lr 1e-4, 30 epochs, batch 32, patience 3, lradj type1 (x0.85 per epoch there)
        "reference": {"epochs": 30, "lr": 1e-4, "batch_size": 32, "patience": 3, "lr_decay": 0.85, "layers": 3,
                      "heads": 4, "d_model": 512, "d_ff": 2048, "dropout": 0.1},
    }
    epochs: int = Field(5, ge=1, description="maximum passes over the training windows (kept small: 62 series on 2 CPU cores)")
    lr: float = Field(2e-3, gt=0, description="Adam learning rate")
    batch_size: int = Field(256, ge=1, description="windows per step")
    patch_len: int = Field(16, ge=2, description="time steps per patch (token)")
    stride: int = Field(8, ge=1, description="step between patches")
    d_model: int = Field(32, ge=4, description="token width")
    heads: int = Field(4, ge=1, description="attention heads")
    layers: int = Field(2, ge=1, description="encoder layers")
    d_ff: int | None = Field(None, ge=4, description="feed-forward width (unset: 2 x d_model)")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout in the encoder and head")


class PatchTSTModule(torch.nn.Module):
    def __init__(self, input_len: int, horizon: int, p: PatchTSTParams):
        super().__init__()
        self.patch_len, self.stride = p.patch_len, p.stride
        patches = (input_len - p.patch_len) // p.stride + 2  # the last patch covers the end, padded by `stride`
        self.embed = torch.nn.Linear(p.patch_len, p.d_model)
        self.position = torch.nn.Parameter(torch.zeros(patches, p.d_model).normal_(std=0.02))
        layer = torch.nn.TransformerEncoderLayer(p.d_model, p.heads, dim_feedforward=p.d_ff or 2 * p.d_model, dropout=p.dropout,
                                                 batch_first=True, norm_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, p.layers, enable_nested_tensor=False)
        self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(p.dropout), torch.nn.Linear(patches * p.d_model, horizon))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = x.mean(dim=1, keepdim=True), x.std(dim=1, keepdim=True) + 1e-5  # RevIN without affine terms
        z = (x - mean) / std
        z = torch.cat([z, z[:, -1:].expand(-1, self.stride)], dim=1).unfold(1, self.patch_len, self.stride)
        out = self.head(self.encoder(self.embed(z) + self.position))
        return out * std + mean


class PatchTST(TorchForecaster):
    """Patches of the normalised window as tokens of a small transformer encoder; a linear head reads all tokens."""

    name = "patchtst"
    paper = "https://arxiv.org/abs/2211.14730"
    description = ("A reduced PatchTST by default (preset=reference: the reference script's 3 layers, d_model 512, lr 1e-4, 30 epochs): instance normalisation, patches of 16 with stride 8, a 2-layer transformer "
                   "encoder (width 32, 4 heads), and a flatten-linear head.")
    Params: ClassVar[type[BaseModel]] = PatchTSTParams

    def build(self, input_len: int, horizon: int) -> torch.nn.Module:
        return PatchTSTModule(input_len, horizon, self.params)
