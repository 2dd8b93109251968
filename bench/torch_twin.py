"""PyTorch twin of bench/train-step-model.ts: the same DeepLab v3+-like net
(MobileNetV2-style backbone at output stride 16, ASPP with atrous 3x3 branches
and image pooling, decoder), timed for one training step and one inference
pass at the same input size, so bench/train-step.ts can report tfjs's time as
a ratio to PyTorch's on this machine.

Run with Debian's interpreter and two threads:
  OMP_NUM_THREADS=2 /usr/bin/python3 bench/torch_twin.py --size 256 --batch 2 --width 0.5
Prints one JSON object on stdout.
"""
import argparse
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_timing import report

STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 1), (6, 320, 1, 1)]


def ch(c, width):
    return max(8, int(round(c * width / 8)) * 8)


def conv_bn(ci, co, k, stride=1, dilation=1, groups=1):
    pad = dilation * (k - 1) // 2
    return nn.Sequential(nn.Conv2d(ci, co, k, stride, pad, dilation, groups, bias=False), nn.BatchNorm2d(co, eps=1e-3))


class Block(nn.Module):
    def __init__(self, ci, co, t, stride, rate):
        super().__init__()
        mid = ci * t
        self.expand = conv_bn(ci, mid, 1) if t != 1 else None
        self.dw = conv_bn(mid, mid, 3, stride, rate, groups=mid)
        self.project = conv_bn(mid, co, 1)
        self.residual = stride == 1 and ci == co

    def forward(self, x):
        y = F.relu6(self.expand(x)) if self.expand is not None else x
        y = self.project(F.relu6(self.dw(y)))
        return x + y if self.residual else y


class SegNet(nn.Module):
    def __init__(self, width, head, rates, classes):
        super().__init__()
        self.stem = conv_bn(3, ch(32, width), 3, 2)
        blocks, low_index, ci, os = [], None, ch(32, width), 2
        for si, (t, c, n, s) in enumerate(STAGES):
            for i in range(n):
                stride = s if i == 0 else 1
                rate = 2 if os >= 16 and si >= 5 else 1
                blocks.append(Block(ci, ch(c, width), t, stride, rate))
                ci = ch(c, width)
                os *= stride
            if os == 4 and low_index is None:
                low_index = len(blocks)
        self.low_blocks = nn.Sequential(*blocks[:low_index])
        self.high_blocks = nn.Sequential(*blocks[low_index:])
        low_c = self.low_blocks[-1].project[0].out_channels
        self.aspp = nn.ModuleList([conv_bn(ci, head, 1)] + [conv_bn(ci, head, 3, 1, r) for r in rates])
        self.pool = nn.Conv2d(ci, head, 1, bias=False)
        self.aspp_proj = conv_bn(head * (len(rates) + 2), head, 1)
        self.low = conv_bn(low_c, 48, 1)
        self.dec1 = conv_bn(head + 48, head, 3)
        self.dec2 = conv_bn(head, head, 3)
        self.logits = nn.Conv2d(head, classes, 1, bias=False)

    def forward(self, images):
        x = F.relu6(self.stem(images))
        low = self.low_blocks(x)
        x = self.high_blocks(low)
        h, w = x.shape[2:]
        branches = [F.relu(b(x)) for b in self.aspp]
        pooled = F.relu(self.pool(x.mean((2, 3), keepdim=True)))
        branches.append(F.interpolate(pooled, (h, w), mode='bilinear', align_corners=False))
        y = F.relu(self.aspp_proj(torch.cat(branches, 1)))
        y = F.interpolate(y, low.shape[2:], mode='bilinear', align_corners=False)
        y = torch.cat([y, F.relu(self.low(low))], 1)
        y = F.relu(self.dec2(F.relu(self.dec1(y))))
        return F.interpolate(self.logits(y), images.shape[2:], mode='bilinear', align_corners=False)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--width', type=float, default=0.5)
    p.add_argument('--head', type=int, default=128)
    p.add_argument('--classes', type=int, default=6)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--infer-reps', type=int, default=None)
    a = p.parse_args()
    torch.manual_seed(0)
    net = SegNet(a.width, a.head, (6, 12, 18), a.classes)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    images = torch.randn(a.batch, 3, a.size, a.size)
    labels = torch.randint(0, a.classes, (a.batch, a.size, a.size))

    report(net, opt, images, labels, a.steps, warmup=a.warmup, infer_reps=a.infer_reps)


if __name__ == '__main__':
    main()
