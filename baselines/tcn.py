"""TCN (Bai et al., 2018; Gemein et al., 2020 for TUAB) from braindecode, trained with the shared EEG recipe."""

import warnings
from typing import ClassVar

import torch
from pydantic import Field

from tasks.eeg.classifier import EEGClassifier, RecipeParams


class TCNParams(RecipeParams):
    """The shared recipe with TCN's own `cpu` preset: braindecode's TCN has no normalisation layer and learns slowly
    at the shared budget (DESIGN-NOTES 47), so it takes a larger learning rate and more source steps."""

    PRESETS: ClassVar[dict[str, dict]] = {**RecipeParams.PRESETS, "cpu": {"lr": 3e-3, "pretrain_steps": 400}}
    n_blocks: int = Field(4, ge=1, description="temporal blocks (dilation doubles each block)")
    n_filters: int = Field(32, ge=1, description="filters per block")
    kernel_size: int = Field(5, ge=2, description="temporal kernel; the receptive field must fit in a window")
    drop_prob: float = Field(0.05, ge=0, lt=1, description="dropout in the blocks")


class Standardised(torch.nn.Module):
    """Standardise every channel of every window (zero mean, unit variance over time) before the inner network."""

    def __init__(self, inner: torch.nn.Module, eps: float = 1e-6):
        super().__init__()
        self.inner, self.eps = inner, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner((x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + self.eps))


class TCN(EEGClassifier):
    """Dilated causal convolutions with residual blocks on standardised windows; dense by construction, its per-step
    log-probabilities are averaged over the window (cropped decoding in every preset)."""

    name = "tcn"
    paper = "https://arxiv.org/abs/1803.01271"
    description = "braindecode's TCN (dilated residual temporal convolutions), outputs averaged over time"
    version = "2"  # 2: every channel of every window standardised (was: scaled by 0.02); cpu preset lr 3e-3, 400 source steps
    Params = TCNParams

    def build(self, n_chans: int, n_times: int) -> torch.nn.Module:
        from braindecode.models import TCN as BraindecodeTCN

        p = self.params
        # braindecode 0.8's TCN uses torch's deprecated weight_norm and feeds 3-D input to Dropout2d; both work
        warnings.filterwarnings("ignore", message="dropout2d: Received a 3D input")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return Standardised(BraindecodeTCN(n_chans=n_chans, n_outputs=2, n_blocks=p.n_blocks, n_filters=p.n_filters,
                                               kernel_size=p.kernel_size, drop_prob=p.drop_prob))
