"""EEGNet-v4 (Lawhern et al., 2018) from braindecode, trained with the shared EEG recipe."""

import torch
from pydantic import Field

from tasks.eeg.classifier import EEGClassifier, RecipeParams


class EEGNetParams(RecipeParams):
    drop_prob: float = Field(0.25, ge=0, lt=1, description="dropout after each block")
    kernel_length: int = Field(32, ge=2, description="temporal kernel (samples at 100 Hz)")


class EEGNet(EEGClassifier):
    """Temporal conv, depthwise spatial conv and separable conv: a compact EEG network. It has no dense form, so
    under cropped decoding it still makes one prediction per window."""

    name = "eegnet"
    paper = "https://arxiv.org/abs/1611.08024"
    description = "braindecode's EEGNetv4 (depthwise + separable convolutions)"
    Params = EEGNetParams

    def build(self, n_chans: int, n_times: int) -> torch.nn.Module:
        from braindecode.models import EEGNetv4

        return EEGNetv4(n_chans=n_chans, n_outputs=2, n_times=n_times, drop_prob=self.params.drop_prob,
                        kernel_length=self.params.kernel_length)
