"""Timing shared by the PyTorch twins (bench/torch_twin.py, bench/torch_prod_twin.py): a training step
and an inference pass measured the same way as bench/train-step.ts measures ours, reported as one JSON
object on stdout."""
import json
import resource
import time

import torch
import torch.nn.functional as F


def report(net, opt, images, labels, steps, extra=None):
    """Times `steps` SGD steps (after one warm-up) and `steps` inference passes; prints the JSON."""
    net.train()

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(net(images), labels, ignore_index=255)
        loss.backward()
        opt.step()
        return loss.item()

    step()  # warm-up: allocator and oneDNN primitive caches
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - t0) * 1000)
        # CPU time of all threads: steadier than wall time on a shared machine.
        cpu.append((time.process_time() - c0) * 1000)
    net.eval()
    batch = images.shape[0]
    with torch.no_grad():
        out_shape = list(net(images).permute(0, 2, 3, 1).shape)
        infer = []
        for _ in range(steps):
            t0 = time.perf_counter()
            net(images)
            infer.append((time.perf_counter() - t0) * 1000 / batch)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    print(json.dumps({
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'params': sum(q.numel() for q in net.parameters()),
        'outputShape': out_shape,
        'stepMs': med(times),
        'stepCpuMs': med(cpu),
        'inferMsPerImage': med(infer),
        'peakRssMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **(extra or {}),
    }))
