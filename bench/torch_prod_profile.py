"""Where PyTorch spends a training step and an inference pass of the production model's twin
(bench/torch_prod_twin.py), by torch.profiler (self CPU time per op), at one thread by default.
BENCHMARKS.md compares it with ours (bench/train-step-profile.ts). The profiler inflates totals
(~2.5x here); the shares are what to read.

  OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_prod_profile.py --config "$(node --import tsx -e \
    "import('./bench/prod-model.ts').then(m => console.log(JSON.stringify(m.prodModelConfig())))")"
"""
import argparse
import json

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from torch_prod_twin import DeepLabV3Plus


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--config', required=True, help='the model config as JSON (ModelConfig of stages/lib/tf/models)')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--rows', type=int, default=25)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = json.loads(a.config)
    net = DeepLabV3Plus(cfg)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(a.batch, 3, a.size, a.size) * 2 - 1
    y = torch.randint(0, cfg['numClasses'], (a.batch, a.size, a.size))

    def step():
        opt.zero_grad()
        F.cross_entropy(net(x), y, ignore_index=255).backward()
        opt.step()

    for _ in range(2):  # warm-up: allocator and oneDNN primitive caches
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    print(f'training step, {a.size}x{a.size} batch {a.batch}, {a.threads} thread(s)')
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=a.rows))
    net.eval()
    with torch.no_grad():
        net(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            net(x)
    print(f'inference, {a.size}x{a.size} batch {a.batch}')
    print(prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=a.rows))


if __name__ == '__main__':
    main()
