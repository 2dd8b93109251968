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


def _machine_busy_ms():
    """CPU time every process on the machine has used (ms, /proc/stat's non-idle ticks at 100 Hz), or None off Linux."""
    try:
        with open('/proc/stat') as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) * 10.0


def _others_ms(busy0, cpu_ms):
    """What other processes took during a timed repetition: the machine's busy time less ours (as train-step.ts)."""
    busy = _machine_busy_ms()
    return None if busy is None or busy0 is None else max(0.0, busy - busy0 - cpu_ms)


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
    times, cpu, faults, others = [], [], [], []
    for _ in range(steps):
        t0, c0, f0, b0 = time.perf_counter(), time.process_time(), _faults(), _machine_busy_ms()
        step()
        times.append((time.perf_counter() - t0) * 1000)
        # CPU time of all threads: steadier than wall time on a shared machine.
        cpu.append((time.process_time() - c0) * 1000)
        # Minor page faults: memory the process got fresh from the kernel during the step.
        faults.append(_faults() - f0)
        others.append(_others_ms(b0, cpu[-1]))
    net.eval()
    batch = images.shape[0]
    with torch.no_grad():
        out_shape = list(net(images).permute(0, 2, 3, 1).shape)
        for _ in range(max(0, warmup - 1)):
            net(images)
        infer, infer_cpu, infer_others = [], [], []
        for _ in range(infer_reps or steps):
            t0, c0, b0 = time.perf_counter(), time.process_time(), _machine_busy_ms()
            net(images)
            infer.append((time.perf_counter() - t0) * 1000 / batch)
            infer_cpu.append((time.process_time() - c0) * 1000 / batch)
            infer_others.append(_others_ms(b0, infer_cpu[-1] * batch))
    print(json.dumps({
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'interopThreads': torch.get_num_interop_threads(),
        'params': sum(q.numel() for q in net.parameters()),
        'outputShape': out_shape,
        'stepMsAll': times,
        'stepCpuMsAll': cpu,
        'faultsAll': faults,
        'othersMsAll': [o for o in others if o is not None],
        'inferMsAll': infer,
        'inferCpuMsAll': infer_cpu,
        'inferOthersMsAll': [o for o in infer_others if o is not None],
        'peakRssMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **(extra or {}),
    }))
