#!/usr/bin/python3
"""The study's highlight (laser) removal recipe in Python + OpenCV, as the
speed reference for the `deglare` stage: grey threshold at 100, dilation with
a 15x20 ellipse (3 iterations), Telea inpainting with radius 15 over the
dilated mask, Gaussian blur 5x5.

usage: /usr/bin/python3 bench/deglare_study.py IN_DIR OUT_DIR
Prints one JSON line: {"images": n, "seconds": s, "imagesPerSecond": r}.
Reading and writing are included in the time, as in the stage.
"""
import json
import os
import sys
import time

import cv2


def deglare(img):
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    _, mask = cv2.threshold(grey, 100, 255, cv2.THRESH_BINARY)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 20))
    dilated = cv2.dilate(mask, kernel, iterations=3)
    out = cv2.inpaint(img, dilated, 15, cv2.INPAINT_TELEA)
    return cv2.GaussianBlur(out, (5, 5), 0), dilated


def main():
    src, dst = sys.argv[1], sys.argv[2]
    os.makedirs(dst, exist_ok=True)
    names = sorted(n for n in os.listdir(src) if n.lower().endswith(('.png', '.jpg', '.jpeg')))
    start = time.perf_counter()
    for name in names:
        img = cv2.imread(os.path.join(src, name), cv2.IMREAD_COLOR)
        if img is None:
            raise SystemExit(f'{name}: cannot read')
        out, mask = deglare(img)
        stem = os.path.splitext(name)[0]
        cv2.imwrite(os.path.join(dst, stem + '.png'), out)
        cv2.imwrite(os.path.join(dst, stem + '_glare.png'), mask)
    seconds = time.perf_counter() - start
    print(json.dumps({'images': len(names), 'seconds': seconds, 'imagesPerSecond': len(names) / seconds,
                      'opencv': cv2.__version__, 'threads': cv2.getNumThreads()}))


if __name__ == '__main__':
    main()
