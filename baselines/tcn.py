"""TCN (Bai et al., 2018; Gemein et al., 2020 for TUAB) from braindecode, trained with the shared EEG recipe."""

import warnings

import torch
from pydantic import Field

from tasks.eeg.classifier import EEGClassifier, RecipeParams


class TCNParams(RecipeParams):
    n_blocks: int = Field(4, ge=1, description="temporal blocks (dilation doubles each block)")
    n_filters: int = Field(32, ge=1, description="filters per block")
    kernel_size: int = Field(5, ge=2, description="temporal kernel; the receptive field must fit in a window")
    drop_prob: float = Field(0.05, ge=0, lt=1, description="dropout in the blocks")
    # braindecode's TCN has no normalisation layer; on raw microvolts (RMS 20-40) it scored AUROC 0.41-0.44 from
    # scratch, below chance, and more steps did not help (DESIGN-NOTES)
    input_scale: float = Field(0.02, gt=0, description="inputs multiplied by this (microvolts to about unit scale)")


class Scaled(torch.nn.Module):
    """Multiply the input by a constant before the inner network."""

    def __init__(self, inner: torch.nn.Module, scale: float):
        super().__init__()
        self.inner, self.scale = inner, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x * self.scale)


class TCN(EEGClassifier):
    """Dilated causal convolutions with residual blocks; dense by construction, its per-step log-probabilities are
    averaged over the window (cropped decoding in every preset)."""

    name = "tcn"
    paper = "https://arxiv.org/abs/1803.01271"
    description = "braindecode's TCN (dilated residual temporal convolutions), outputs averaged over time"
    Params = TCNParams

    def build(self, n_chans: int, n_times: int) -> torch.nn.Module:
        from braindecode.models import TCN as BraindecodeTCN

        p = self.params
        # braindecode 0.8's TCN uses torch's deprecated weight_norm and feeds 3-D input to Dropout2d; both work
        warnings.filterwarnings("ignore", message="dropout2d: Received a 3D input")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return Scaled(BraindecodeTCN(n_chans=n_chans, n_outputs=2, n_blocks=p.n_blocks, n_filters=p.n_filters,
                                         kernel_size=p.kernel_size, drop_prob=p.drop_prob), p.input_scale)
