"""Timing shared by the PyTorch twins (bench/torch_twin.py, bench/torch_prod_twin.py): training steps and
inference passes measured the same way as bench/train-step.ts measures ours (the same numbers of warm-up and
timed repetitions), reported as one JSON object on stdout with every timed repetition, so the caller can pool
rounds and take medians."""
import json
import resource
import time

import torch
import torch.nn.functional as F


def _faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def report(net, opt, images, labels, steps, extra=None, warmup=3, infer_reps=None):
    """Times `steps` SGD steps after `warmup` untimed ones, then `infer_reps` inference passes (default
    `steps`) after `warmup` untimed ones; prints the JSON."""
    net.train()

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(net(images), labels, ignore_index=255)
        loss.backward()
        opt.step()
        return loss.item()

    # Warm-up: the allocator's pools and oneDNN's primitive caches, as ours warms XNNPACK's operators and
    # the WebAssembly heap.
    for _ in range(warmup):
        step()
    times, cpu, faults = [], [], []
    for _ in range(steps):
        t0, c0, f0 = time.perf_counter(), time.process_time(), _faults()
        step()
        times.append((time.perf_counter() - t0) * 1000)
        # CPU time of all threads: steadier than wall time on a shared machine.
        cpu.append((time.process_time() - c0) * 1000)
        # Minor page faults: memory the process got fresh from the kernel during the step.
        faults.append(_faults() - f0)
    net.eval()
    batch = images.shape[0]
    with torch.no_grad():
        out_shape = list(net(images).permute(0, 2, 3, 1).shape)
        for _ in range(max(0, warmup - 1)):
            net(images)
        infer, infer_cpu = [], []
        for _ in range(infer_reps or steps):
            t0, c0 = time.perf_counter(), time.process_time()
            net(images)
            infer.append((time.perf_counter() - t0) * 1000 / batch)
            infer_cpu.append((time.process_time() - c0) * 1000 / batch)
    print(json.dumps({
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'interopThreads': torch.get_num_interop_threads(),
        'params': sum(q.numel() for q in net.parameters()),
        'outputShape': out_shape,
        'stepMsAll': times,
        'stepCpuMsAll': cpu,
        'faultsAll': faults,
        'inferMsAll': infer,
        'inferCpuMsAll': infer_cpu,
        'peakRssMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **(extra or {}),
    }))
