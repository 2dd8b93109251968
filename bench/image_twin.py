#!/usr/bin/python3
"""Python + OpenCV twins of the `deglare` and `enhance` stages, run the way
bench/image.ts runs the stages, so the two compare like with like:

- PROCS worker processes (`multiprocessing`), each started, given cv2, and
  warmed with one image (the first) before the clock starts, exactly as the
  benchmark warms each `pipe` worker thread;
- then the clock runs while the workers take the images from one queue
  (reading and writing included) until all are done.

deglare: the study's recipe, bench/deglare_study.py (grey threshold 100,
dilate 15x20 ellipse x3, Telea r=15, Gaussian 5x5).
enhance: the ops of `enhance` written with OpenCV and numpy as a user would
(float RGB in [0, 1] between ops, clamped after each, rounded once at the end):
backscatter (formation model I = J t + B (1 - t)), clahe (on L of Lab),
redCompensation (Ancuti 2018), whiteBalance (gray-world), levels, gamma.

usage: /usr/bin/python3 bench/image_twin.py deglare|enhance PROCS IN_DIR OUT_DIR [OPS_JSON [THREADS]]
Prints one JSON line: {"images", "seconds", "imagesPerSecond", "cpuSeconds", "opencv", "threads", "procs"}.
THREADS: OpenCV threads per process (cv2.setNumThreads); default: the cores shared out among the
processes (2 cores: 2 threads for 1 process, 1 each for 2), so OpenCV's parallel loops use every core
and PROCS processes never run more threads than there are cores. cpuSeconds: user + system CPU time
of the worker processes (all their threads) between the start and the end of the timed part.
"""
import json
import multiprocessing as mp
import os
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deglare_study import deglare  # noqa: E402  (the study's recipe, unchanged)


# ---- enhance ops, on float32 RGB in [0, 1] -------------------------------------------------

def dark_channel(img, channels, patch):
    m = np.min(img[:, :, channels], axis=2)
    if patch > 1:
        m = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_RECT, (patch, patch)), borderType=cv2.BORDER_REFLECT)
    return m


def guided_filter(guide, src, radius, eps):
    box = lambda m: cv2.boxFilter(m, cv2.CV_32F, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)
    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def ambient_light(img, score, top):
    cut = np.percentile(score, 100 * (1 - top))
    sel = img[score >= cut]
    return np.maximum(sel.mean(axis=0), 1e-3)


def backscatter(img, op):
    patch, omega, t0 = op.get('patch', 15), op.get('omega', 0.95), op.get('t0', 0.1)
    radius, eps, top = op.get('radius', 30), op.get('eps', 1e-3), op.get('top', 0.001)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (patch, patch))
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    floors = []
    for c in range(3):
        f = cv2.erode(np.ascontiguousarray(img[:, :, c]), k, borderType=cv2.BORDER_REFLECT)
        floors.append(guided_filter(grey, f, radius, eps) if radius > 0 else f)
    floor = np.stack(floors, axis=2)
    B = np.array(op['bInf'], np.float32) if 'bInf' in op else ambient_light(img, dark_channel(img, [1, 2], patch), top)
    back = np.minimum(omega * np.maximum(floor, 0), B * (1 - t0))
    t = np.maximum(1 - back / B, t0)
    return (img - back) / t


def clahe(img, op):
    u8 = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    lab = cv2.cvtColor(u8, cv2.COLOR_RGB2Lab)
    tool = cv2.createCLAHE(clipLimit=op.get('clipLimit', 2), tileGridSize=(op.get('tiles', 8),) * 2)
    lab[:, :, 0] = tool.apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_Lab2RGB).astype(np.float32) / 255


def red_compensation(img, op):
    alpha = op.get('alpha', 1)
    m = img.reshape(-1, 3).mean(axis=0)
    out = img.copy()
    g = img[:, :, 1]
    out[:, :, 0] += alpha * (m[1] - m[0]) * (1 - img[:, :, 0]) * g
    if op.get('blue', False):
        out[:, :, 2] += alpha * (m[1] - m[2]) * (1 - img[:, :, 2]) * g
    return out


def white_balance(img, op):
    m = img.reshape(-1, 3).mean(axis=0)
    return img * np.where(m > 1e-6, m.mean() / np.maximum(m, 1e-6), 1)


def levels(img, op):
    clip = op.get('clip', 0.5)
    flat = img.reshape(-1, 3)
    lo, hi = np.percentile(flat, clip, axis=0), np.percentile(flat, 100 - clip, axis=0)
    scale = np.where(hi - lo > 1e-6, 1 / np.maximum(hi - lo, 1e-6), 1)
    return np.where(hi - lo > 1e-6, (img - lo) * scale, img)


def gamma(img, op):
    return np.power(img, op.get('gamma', 1.2))


OPS = {'backscatter': backscatter, 'clahe': clahe, 'redCompensation': red_compensation,
       'whiteBalance': white_balance, 'levels': levels, 'gamma': gamma}


def enhance(bgr, ops):
    img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255
    for op in ops:
        img = np.clip(OPS[op['op']](img, op), 0, 1).astype(np.float32)
    return cv2.cvtColor(np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR)


# ---- the worker pool ------------------------------------------------------------------------

def process(recipe, ops, src, dst, name):
    img = cv2.imread(os.path.join(src, name), cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f'{name}: cannot read')
    stem = os.path.splitext(name)[0]
    if recipe == 'deglare':
        out, mask = deglare(img)
        cv2.imwrite(os.path.join(dst, stem + '_glare.png'), mask)
    else:
        out = enhance(img, ops)
    cv2.imwrite(os.path.join(dst, stem + '.png'), out)


def worker(recipe, ops, src, dst, warm, threads, tasks, ready, go, done):
    cv2.setNumThreads(threads)
    process(recipe, ops, src, os.path.join(dst, 'warm'), warm)
    ready.put(os.getpid())
    go.wait()
    cpu = time.process_time()  # this process, all its threads
    while True:
        name = tasks.get()
        if name is None:
            break
        process(recipe, ops, src, dst, name)
    done.put(time.process_time() - cpu)


def main():
    recipe, procs, src, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ops = json.loads(sys.argv[5]) if len(sys.argv) > 5 else []
    threads = int(sys.argv[6]) if len(sys.argv) > 6 else max(1, (os.cpu_count() or 1) // procs)
    unknown = [o['op'] for o in ops if o['op'] not in OPS]
    if recipe not in ('deglare', 'enhance') or unknown:
        raise SystemExit(f'unknown recipe {recipe!r} or enhance ops {unknown} (twin has {sorted(OPS)})')
    os.makedirs(os.path.join(dst, 'warm'), exist_ok=True)
    names = sorted(n for n in os.listdir(src) if n.lower().endswith(('.png', '.jpg', '.jpeg')))
    ctx = mp.get_context('fork')
    tasks, ready, go, done = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Queue()
    pool = [ctx.Process(target=worker, args=(recipe, ops, src, dst, names[0], threads, tasks, ready, go, done)) for _ in range(procs)]
    for p in pool:
        p.start()
    for _ in pool:
        ready.get()
    for n in names:
        tasks.put(n)
    for _ in pool:
        tasks.put(None)
    start = time.perf_counter()
    go.set()
    for p in pool:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f'a worker exited with {p.exitcode}')
    seconds = time.perf_counter() - start
    cpu = sum(done.get() for _ in pool)
    print(json.dumps({'images': len(names), 'seconds': seconds, 'imagesPerSecond': len(names) / seconds, 'cpuSeconds': cpu,
                      'opencv': cv2.__version__, 'threads': threads, 'procs': procs}))


if __name__ == '__main__':
    main()
