"""Fixed, interpretable feature detectors for real images (no training needed).

A bank of oriented edge and blob filters followed by ReLU: a stand-in for the first layer
of a trained CNN, used to get *real* feature maps out of MNIST digits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["edge_filter_bank", "edge_features", "FILTER_NAMES"]

FILTER_NAMES = ("vertical edge", "horizontal edge", "diagonal edge", "anti-diagonal edge", "blob")


def edge_filter_bank() -> torch.Tensor:
    """Five 3x3 filters (``[5, 1, 3, 3]``): Sobel x/y, two diagonals, a centre-surround blob."""
    sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    sobel_y = sobel_x.T.contiguous()
    diag = torch.tensor([[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0], [-2.0, -1.0, 0.0]])
    anti = torch.flip(diag, dims=[1])
    blob = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]])
    return torch.stack([sobel_x, sobel_y, diag, anti, blob]).unsqueeze(1) / 4.0


@torch.no_grad()
def edge_features(images: torch.Tensor) -> torch.Tensor:
    """ReLU(conv(images, edge_filter_bank())) with zero "same" padding.

    Args:
        images: ``[N, 1, H, W]``.

    Returns:
        ``[N, 5, H, W]`` non-negative feature maps.
    """
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"images must have shape [N, 1, H, W], got {tuple(images.shape)}")
    w = edge_filter_bank().to(images)
    return F.relu(F.conv2d(images, w, padding=1))
