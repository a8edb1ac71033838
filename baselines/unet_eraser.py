"""A small UNet eraser: image + mask in, image + predicted residual out."""

import torch
from torch import nn

from tasks.text_removal.learned import TorchEraser
from tasks.unet import UNet


class ResidualUNet(nn.Module):
    """The shared 3-level UNet on image + mask (4 channels), predicting a correction to the image."""

    def __init__(self, width: int):
        super().__init__()
        self.unet = UNet(4, 3, width)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x[:, :3] + self.unet(x)]


class UNetEraser(TorchEraser):
    """Predicts a residual over the whole image; trained with the shared eraser recipe."""

    name = "unet"
    paper = "https://arxiv.org/abs/1505.04597"
    description = "3-level UNet on image + mask, residual output, trained on the training split in minutes"

    def build(self) -> torch.nn.Module:
        return ResidualUNet(self.params.width)
