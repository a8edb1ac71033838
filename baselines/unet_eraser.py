"""A small UNet eraser: image + mask in, image + predicted residual out."""

import torch
from torch import nn

from tasks.text_removal.learned import TorchEraser


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Three levels (w, 2w, 4w channels), skip connections, residual output."""

    def __init__(self, width: int):
        super().__init__()
        w = width
        self.down1, self.down2, self.bottom = _block(4, w), _block(w, 2 * w), _block(2 * w, 4 * w)
        self.up2, self.dec2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2), _block(4 * w, 2 * w)
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2), _block(2 * w, w)
        self.head = nn.Conv2d(w, 3, 1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        d1 = self.down1(x)
        d2 = self.down2(nn.functional.max_pool2d(d1, 2))
        b = self.bottom(nn.functional.max_pool2d(d2, 2))
        u2 = self.dec2(torch.cat([self.up2(b), d2], 1))
        u1 = self.dec1(torch.cat([self.up1(u2), d1], 1))
        return [x[:, :3] + self.head(u1)]


class UNetEraser(TorchEraser):
    """Predicts a residual over the whole image; trained with the shared eraser recipe."""

    name = "unet"
    paper = "https://arxiv.org/abs/1505.04597"
    description = "3-level UNet on image + mask, residual output, trained on the training split in minutes"

    def build(self) -> torch.nn.Module:
        return UNet(self.params.width)
