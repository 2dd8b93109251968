"""PyTorch twin of the model the default pipeline trains
(stages/lib/tf/models/deeplabv3plus.ts, built from the `train` stage's defaults
by bench/prod-model.ts): DeepLab v3+ on MobileNetV2 with the same widths,
channel rounding, output-stride rule, norms (group norm with the same group
counts, or batch norm), trunk kind (`folded`: every trunk conv has a bias and
no norm), ASPP with depthwise-separable atrous branches and image pooling, the
decoder, align-corners resizes, and the same optimiser (SGD with momentum and
weight decay). Frozen trunk layers get no gradient, as in ours.

bench/train-step.ts passes the config as JSON and checks that the parameter
count and the output shape printed here equal ours.

  OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_prod_twin.py --config '{"width":0.5,...}' --size 256 --batch 2
Prints one JSON object on stdout.
"""
import argparse
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_timing import report

BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def make_divisible(v, divisor=8):
    n = max(divisor, int((v + divisor / 2) // divisor) * divisor)
    return n + divisor if n < 0.9 * v else n


def group_count(c):
    for g in range(min(32, c // 4), 1, -1):
        if c % g == 0:
            return g
    return 1


def norm_layer(kind, c):
    return nn.GroupNorm(group_count(c), c, eps=1e-5) if kind == 'group' else nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


ACTS = {'relu': F.relu, 'relu6': F.relu6, 'linear': lambda x: x}


class ConvNorm(nn.Module):
    """conv ('same' padding) + norm (or a bias when folded) + activation."""

    def __init__(self, ci, co, k, norm, act, stride=1, rate=1, depthwise=False, folded=False):
        super().__init__()
        pad = rate * (k - 1) // 2
        self.conv = nn.Conv2d(ci, co, k, stride, pad, rate, groups=ci if depthwise else 1, bias=folded)
        self.norm = None if folded else norm_layer(norm, co)
        self.act = ACTS[act]

    def forward(self, x):
        y = self.conv(x)
        return self.act(self.norm(y) if self.norm is not None else y)


class InvertedResidual(nn.Module):
    def __init__(self, ci, co, t, stride, rate, norm, folded):
        super().__init__()
        mid = ci * t
        self.expand = ConvNorm(ci, mid, 1, norm, 'relu6', folded=folded) if t != 1 else None
        self.dw = ConvNorm(mid, mid, 3, norm, 'relu6', stride, rate, depthwise=True, folded=folded)
        self.project = ConvNorm(mid, co, 1, norm, 'linear', folded=folded)
        self.residual = stride == 1 and ci == co

    def forward(self, x):
        h = self.expand(x) if self.expand is not None else x
        h = self.project(self.dw(h))
        return x + h if self.residual else h


class SepConv(nn.Module):
    def __init__(self, ci, co, rate, norm):
        super().__init__()
        self.dw = ConvNorm(ci, ci, 3, norm, 'relu', rate=rate, depthwise=True)
        self.pw = ConvNorm(ci, co, 1, norm, 'relu')

    def forward(self, x):
        return self.pw(self.dw(x))


class DeepLabV3Plus(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        norm, width, os_ = cfg['norm'], cfg['width'], cfg['outputStride']
        folded = cfg.get('trunk') == 'folded'
        stem_c = make_divisible(32 * width)
        self.stem = ConvNorm(3, stem_c, 3, norm, 'relu6', stride=2, folded=folded)
        blocks, ci, current, rate, low_at = [], stem_c, 2, 1, None
        for t, c, n, s in BLOCKS:
            for i in range(n):
                stride = s if i == 0 else 1
                layer_stride, layer_rate = stride, 1
                if current == os_:
                    layer_stride, layer_rate = 1, rate
                    rate *= stride
                else:
                    current *= stride
                co = make_divisible(c * width)
                blocks.append(InvertedResidual(ci, co, t, layer_stride, layer_rate, norm, folded))
                ci = co
            if c == 24:
                low_at = len(blocks)
        self.blocks = nn.ModuleList(blocks)
        self.low_at = low_at
        low_c = make_divisible(24 * width)
        ch = cfg['asppChannels']
        scale = 16 // os_
        self.b0 = ConvNorm(ci, ch, 1, norm, 'relu')
        self.atrous = nn.ModuleList([SepConv(ci, ch, r * scale, norm) for r in (6, 12, 18)])
        self.pool = nn.Conv2d(ci, ch, 1, bias=True)
        self.project = ConvNorm(5 * ch, ch, 1, norm, 'relu')
        self.low = ConvNorm(low_c, 48, 1, norm, 'relu')
        dc = cfg['decoderChannels']
        self.dec0 = SepConv(ch + 48, dc, 1, norm)
        self.dec1 = SepConv(dc, dc, 1, norm)
        self.classifier = nn.Conv2d(dc, cfg['numClasses'], 1, bias=True)

    def freeze(self, blocks):
        """Freezes the stem and the first `blocks` inverted-residual blocks (no gradient, no update)."""
        if blocks <= 0:
            return
        for p in self.stem.parameters():
            p.requires_grad_(False)
        for b in self.blocks[:blocks]:
            for p in b.parameters():
                p.requires_grad_(False)

    def forward(self, x):
        H, W = x.shape[2:]
        h = self.stem(x)
        low = None
        for i, b in enumerate(self.blocks):
            h = b(h)
            if i + 1 == self.low_at:
                low = h
        branches = [self.b0(h)] + [a(h) for a in self.atrous]
        p = F.relu(self.pool(h.mean((2, 3), keepdim=True)))
        branches.append(p.expand(-1, -1, h.shape[2], h.shape[3]))
        a = self.project(torch.cat(branches, 1))
        a = F.interpolate(a, low.shape[2:], mode='bilinear', align_corners=True)
        d = torch.cat([a, self.low(low)], 1)
        d = self.dec1(self.dec0(d))
        return F.interpolate(self.classifier(d), (H, W), mode='bilinear', align_corners=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--config', required=True, help='the model config as JSON (ModelConfig of stages/lib/tf/models)')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--infer-reps', type=int, default=None)
    p.add_argument('--frozen-blocks', type=int, default=0)
    p.add_argument('--lr', type=float, default=0.01)
    p.add_argument('--momentum', type=float, default=0.9)
    p.add_argument('--weight-decay', type=float, default=0.0005)
    a = p.parse_args()
    cfg = json.loads(a.config)
    if cfg.get('arch', 'deeplabv3plus') != 'deeplabv3plus':
        raise SystemExit(f"torch_prod_twin: no twin for arch {cfg.get('arch')}")
    torch.manual_seed(0)
    net = DeepLabV3Plus(cfg)
    net.freeze(a.frozen_blocks)
    trainable = [q for q in net.parameters() if q.requires_grad]
    opt = torch.optim.SGD(trainable, lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay)
    images = torch.rand(a.batch, 3, a.size, a.size) * 2 - 1
    labels = torch.randint(0, cfg['numClasses'], (a.batch, a.size, a.size))

    report(net, opt, images, labels, a.steps, {'trainableParams': sum(q.numel() for q in trainable)}, warmup=a.warmup, infer_reps=a.infer_reps)


if __name__ == '__main__':
    main()
