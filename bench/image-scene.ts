/**
 * Renders dark underwater-like test images crossed by bright green laser
 * lines with a diffuse glow, like the study's dark set, for the image
 * benchmarks (no data set needs to be downloaded).
 */
import type { RgbImage } from '../stages/lib/image/types.ts';
import { Rng } from '../stages/lib/tf/rng.ts';

/** Uniform numbers in [0, 1) from the training code's seeded generator (mulberry32). */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** A `width` x `height` dark scene with a pipe, a valve and 2-3 laser lines. */
export function renderDarkScene(seed: number, width = 640, height = 480): RgbImage {
  const rand = rng(seed);
  const data = new Uint8Array(width * height * 3);
  const lines = Array.from({ length: 2 + Math.floor(rand() * 2) }, () => ({
    // line through (x0, y0) with direction angle a
    x0: rand() * width,
    y0: rand() * height,
    a: rand() * Math.PI,
  }));
  const pipeY = height * (0.3 + rand() * 0.4);
  const valve = { x: width * (0.2 + rand() * 0.6), y: pipeY, r: 30 + rand() * 30 };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 10 + 15 * (y / height);
      let g = 30 + 25 * (x / width);
      let b = 35 + 20 * (y / height);
      if (Math.abs(y - pipeY) < 25) {
        r += 30;
        g += 35;
        b += 30;
      }
      if ((x - valve.x) ** 2 + (y - valve.y) ** 2 < valve.r ** 2) {
        r += 50;
        g += 15;
        b += 5;
      }
      let glow = 0;
      let core = 0;
      for (const l of lines) {
        const d = Math.abs((x - l.x0) * Math.sin(l.a) - (y - l.y0) * Math.cos(l.a));
        if (d < 2.5) core = 1;
        glow += Math.exp(-(d * d) / (2 * 12 * 12));
      }
      const noise = (rand() - 0.5) * 8;
      const i = (y * width + x) * 3;
      data[i] = clamp(r + noise + glow * 10 + core * 80);
      data[i + 1] = clamp(g + noise + glow * 60 + core * 220);
      data[i + 2] = clamp(b + noise + glow * 15 + core * 90);
    }
  }
  return { data, width, height };
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}
