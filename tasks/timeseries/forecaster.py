"""The forecaster protocol, and a small training loop shared by the learned forecasters."""

from __future__ import annotations

import copy
from typing import ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from harness.contracts.method import Method
from harness.contracts.presets import PresetParams
from tasks.timeseries.windows import Windows

PREDICT_BATCH = 1024


class Forecaster(Method):
    """Maps input windows [N, input_len] to forecasts [N, horizon]; fitted per series by the task.

    Several channels: `fit_channels` / `predict_channels` map [N, C, input_len] to [N, C, horizon]. By default a
    forecaster is channel-independent: every channel of every window is one univariate window, one model (shared
    weights) for all channels, as Time-Series-Library's models with features M. A `channel_mixing` forecaster's own
    fit / predict take the [N, C, ...] windows and may use every channel for every forecast.
    """

    family: ClassVar[str] = "timeseries"
    protocol: ClassVar[str] = "forecaster"
    channel_mixing: ClassVar[bool] = False

    def fit(self, train: Windows, val: Windows, seed: int, device: torch.device) -> None:
        """Learn from the training windows (val for early stopping) on `device`. Rule-based forecasters need nothing."""

    def predict(self, inputs: np.ndarray, horizon: int) -> np.ndarray:
        raise NotImplementedError

    def fit_channels(self, train: Windows, val: Windows, seed: int, device: torch.device) -> None:
        """Learn from windows [N, C, input_len] -> [N, C, horizon]."""
        if self.channel_mixing:
            self.fit(train, val, seed, device)
        else:
            self.fit(train.channels_as_samples(), val.channels_as_samples(), seed, device)

    def predict_channels(self, inputs: np.ndarray, horizon: int) -> np.ndarray:
        """Forecasts [N, C, horizon] of inputs [N, C, input_len]."""
        if self.channel_mixing:
            return self.predict(inputs, horizon)
        n, channels, length = inputs.shape
        return self.predict(inputs.reshape(n * channels, length), horizon).reshape(n, channels, horizon)

    def parameter_count(self) -> int:
        return 0


class TrainingParams(PresetParams):
    """The shared training recipe (Adam, MSE, early stopping on validation MSE), and named presets of it.

    A preset is data: a named set of parameter values (`PRESETS`), filled in before validation; parameters given
    explicitly win over the preset's. `cpu` (the default) is sized for 2 CPU cores; a method may add `reference`
    with the settings of SynTSBench's scripts. The preset's name and every resolved value are recorded.
    """

    model_config = ConfigDict(extra="forbid")
    PRESETS: ClassVar[dict[str, dict]] = {"cpu": {}}
    preset: str = Field("cpu", description="named parameter set: 'cpu' (2 CPU cores) or, where the method has one, "
                                           "'reference' (SynTSBench's scripts)")
    epochs: int = Field(10, ge=1, description="maximum passes over the training windows")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate")
    batch_size: int = Field(64, ge=1, description="windows per step")
    patience: int = Field(3, ge=1, description="epochs without validation improvement before stopping")
    lr_decay: float = Field(1.0, gt=0, le=1, description="learning rate multiplied by this after every epoch "
                                                         "(SynTSBench's lradj type1: 0.85)")


class TorchForecaster(Forecaster):
    """A torch module trained on the windows of one series; subclasses build the module."""

    Params: ClassVar[type[BaseModel]] = TrainingParams

    def build(self, input_len: int, horizon: int) -> torch.nn.Module:
        raise NotImplementedError

    def build_for(self, train: Windows) -> torch.nn.Module:
        """The module for these windows: `build(input_len, horizon)`; a channel-mixing model also needs C."""
        return self.build(train.inputs.shape[-1], train.targets.shape[-1])

    def fit(self, train: Windows, val: Windows, seed: int, device: torch.device) -> None:
        torch.manual_seed(seed)
        p = self.params
        self.device = device
        self.module = self.build_for(train).to(device)
        optimiser = torch.optim.Adam(self.module.parameters(), lr=p.lr)
        x = torch.as_tensor(train.inputs, dtype=torch.float32, device=device)
        y = torch.as_tensor(train.targets, dtype=torch.float32, device=device)
        generator = torch.Generator().manual_seed(seed)
        best, best_state, stale = float("inf"), copy.deepcopy(self.module.state_dict()), 0
        self.epochs_run = 0
        for _ in range(p.epochs):
            self.module.train()
            for idx in torch.randperm(len(x), generator=generator).to(device).split(p.batch_size):
                optimiser.zero_grad()
                loss = torch.nn.functional.mse_loss(self.module(x[idx]), y[idx])
                loss.backward()
                optimiser.step()
            self.epochs_run += 1
            for group in optimiser.param_groups:
                group["lr"] *= p.lr_decay
            score = float(np.mean((self.predict(val.inputs, val.targets.shape[-1]) - val.targets) ** 2)) if len(val) else 0.0
            if score < best:
                best, best_state, stale = score, copy.deepcopy(self.module.state_dict()), 0
            else:
                stale += 1
                if stale >= p.patience:
                    break
        self.module.load_state_dict(best_state)

    @torch.no_grad()
    def predict(self, inputs: np.ndarray, horizon: int) -> np.ndarray:
        self.module.eval()
        x = torch.as_tensor(inputs, dtype=torch.float32, device=self.device)
        return torch.cat([self.module(chunk) for chunk in x.split(PREDICT_BATCH)]).cpu().numpy().astype(np.float64)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.module.parameters())
