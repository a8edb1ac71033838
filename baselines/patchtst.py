"""A small PatchTST (Nie et al., "A Time Series is Worth 64 Words"): instance norm, patches, a transformer
encoder, a flatten head."""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import BaseModel, Field

from tasks.timeseries.forecaster import TorchForecaster, TrainingParams


class PatchTSTParams(TrainingParams):
    epochs: int = Field(5, ge=1, description="maximum passes over the training windows (kept small: 62 series on 2 CPU cores)")
    lr: float = Field(2e-3, gt=0, description="Adam learning rate")
    batch_size: int = Field(256, ge=1, description="windows per step")
    patch_len: int = Field(16, ge=2, description="time steps per patch (token)")
    stride: int = Field(8, ge=1, description="step between patches")
    d_model: int = Field(32, ge=4, description="token width")
    heads: int = Field(4, ge=1, description="attention heads")
    layers: int = Field(2, ge=1, description="encoder layers")
    dropout: float = Field(0.1, ge=0, lt=1, description="dropout in the encoder and head")


class PatchTSTModule(torch.nn.Module):
    def __init__(self, input_len: int, horizon: int, p: PatchTSTParams):
        super().__init__()
        self.patch_len, self.stride = p.patch_len, p.stride
        patches = (input_len - p.patch_len) // p.stride + 2  # the last patch covers the end, padded by `stride`
        self.embed = torch.nn.Linear(p.patch_len, p.d_model)
        self.position = torch.nn.Parameter(torch.zeros(patches, p.d_model).normal_(std=0.02))
        layer = torch.nn.TransformerEncoderLayer(p.d_model, p.heads, dim_feedforward=2 * p.d_model, dropout=p.dropout,
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
    description = ("A reduced PatchTST: instance normalisation, patches of 16 with stride 8, a 2-layer transformer "
                   "encoder (width 32, 4 heads), and a flatten-linear head.")
    Params: ClassVar[type[BaseModel]] = PatchTSTParams

    def build(self, input_len: int, horizon: int) -> torch.nn.Module:
        return PatchTSTModule(input_len, horizon, self.params)
