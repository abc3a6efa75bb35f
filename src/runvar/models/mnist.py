"""SD's MNIST model (the reference's ``MnistNet``, Table 6's MNIST row).

conv 1->32 3x3 -> ReLU -> conv 32->64 3x3 -> ReLU -> max-pool 2 -> flatten (9,216 for a 28 x 28
image) -> fc 128 -> ReLU -> fc 10. No dropout: the reference's ``MnistNet`` has none (unlike
PyTorch's MNIST example it resembles), so the ``stochastic`` source has nothing to vary here.
Parameter names (``conv1``, ``conv2``, ``fc1``, ``fc2``) are the reference's. PyTorch's default
init, as in the reference.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register


class MnistNet(nn.Module):
    def __init__(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(f"mnistnet needs images (channels, height, width), got input shape {input_shape}")
        channels, height, width = input_shape
        self.conv1 = nn.Conv2d(channels, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.fc1 = nn.Linear(64 * ((height - 4) // 2) * ((width - 4) // 2), 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        x = torch.flatten(F.max_pool2d(x, 2), 1)
        return self.fc2(F.relu(self.fc1(x)))


@register("mnistnet")
def mnistnet(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The reference's MnistNet for ``input_shape`` (1, 28, 28): 1,199,882 parameters."""
    return MnistNet(tuple(input_shape), num_classes)
