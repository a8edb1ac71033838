"""DeepEraser-lite: the paper's recurrent iterative eraser (full-resolution residual encoder, separable ConvGRU,
residual head), reduced width and depth."""

import torch
from pydantic import Field
from torch import nn

from tasks.text_removal.learned import EraserRecipe, TorchEraser


class DeepEraserParams(EraserRecipe):
    steps: int = Field(800, ge=1, description="optimiser steps (each runs every iteration, so fewer than the UNet's)")
    iterations: int = Field(4, ge=1, description="refinement iterations (the paper uses 8)")


class SeparableConvGRU(nn.Module):
    """A GRU whose gates are 1x5 then 5x1 convolutions (a horizontal pass, then a vertical one)."""

    def __init__(self, hidden: int, inputs: int):
        super().__init__()
        make = lambda k, p: nn.ModuleList(nn.Conv2d(hidden + inputs, hidden, k, padding=p) for _ in range(3))
        self.passes = nn.ModuleList([make((1, 5), (0, 2)), make((5, 1), (2, 0))])

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        for z_conv, r_conv, q_conv in self.passes:
            hx = torch.cat([h, x], 1)
            z, r = torch.sigmoid(z_conv(hx)), torch.sigmoid(r_conv(hx))
            h = (1 - z) * h + z * torch.tanh(q_conv(torch.cat([r * h, x], 1)))
        return h


class ResidualBlock(nn.Module):
    """Two instance-normalised 3x3 convolutions at full resolution with a (1x1 when widening) shortcut."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.InstanceNorm2d(cout), nn.ReLU(inplace=True),
                                  nn.Conv2d(cout, cout, 3, padding=1), nn.InstanceNorm2d(cout))
        self.shortcut = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class DeepEraserLite(nn.Module):
    """Encoder -> hidden (tanh) + context (relu); each iteration encodes the current reconstruction, updates the
    hidden state and predicts a residual; reconstruction = input + residual (every iteration's is returned)."""

    def __init__(self, width: int, iterations: int):
        super().__init__()
        w = width
        self.iterations = iterations
        self.encoder = nn.Sequential(nn.Conv2d(4, w, 7, padding=3), nn.InstanceNorm2d(w), nn.ReLU(inplace=True),
                                     ResidualBlock(w, w), ResidualBlock(w, 2 * w), ResidualBlock(2 * w, 2 * w),
                                     nn.Conv2d(2 * w, 2 * w, 1))
        self.image_encoder = nn.Sequential(nn.Conv2d(3, 2 * w, 7, padding=3), nn.ReLU(inplace=True),
                                           nn.Conv2d(2 * w, w - 3, 3, padding=1), nn.ReLU(inplace=True))
        self.gru = SeparableConvGRU(w, 2 * w)
        self.head = nn.Sequential(nn.Conv2d(w, 2 * w, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(2 * w, 3, 3, padding=1),
                                  nn.LeakyReLU(0.2))  # the reference PredHead's outact, on the residual
        self.width = w

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        hidden, context = torch.split(self.encoder(x), [self.width, self.width], dim=1)
        hidden, context = torch.tanh(hidden), torch.relu(context)
        image = x[:, :3]
        current, outputs = image, []
        for _ in range(self.iterations):
            features = torch.cat([self.image_encoder(current), current], 1)
            hidden = self.gru(hidden, torch.cat([context, features], 1))
            current = image + self.head(hidden)
            outputs.append(current)
        return outputs


class DeepEraser(TorchEraser):
    """Iterative context mining: the same update block refines the erased image several times."""

    name = "deeperaser"
    version = "2"  # 2: LeakyReLU(0.2) on the predicted residual, as the reference PredHead
    paper = "https://arxiv.org/abs/2402.19108"
    description = "DeepEraser-lite: recurrent ConvGRU refinement with residual prediction, reduced width, CPU-trained"
    Params = DeepEraserParams

    def build(self) -> torch.nn.Module:
        return DeepEraserLite(self.params.width, self.params.iterations)
