/**
 * Light and water: turns a geometry buffer into a camera image for one
 * condition, following the study's image formation model
 *   I = J * t + B_inf * (1 - t),  t = exp(-beta_c * d)  per colour channel,
 * with J the light the surface sends back. Bright: strong, even light from
 * above and an auto-exposed camera. Dark: weak ambient light, a lamp beside
 * the camera (cone, fall-off, inverse square, attenuated on its way), green
 * laser lines (thin core, glow halo, specular spots), marine snow, vignetting,
 * sensor noise and a fixed exposure. All radiometry is linear; the sensor
 * applies a gamma curve at the end.
 */
import { gaussianBlur } from './blur.ts';
import type { GBuffer } from './gbuffer.ts';
import type { Rng } from './prng.ts';
import type { Camera } from './scene.ts';
import type { BrightParams, Condition, DarkParams, SynthParams } from './params.ts';

type Planes = [Float32Array, Float32Array, Float32Array];
type V3 = [number, number, number];

const norm = (v: V3): V3 => {
  const l = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / l, v[1] / l, v[2] / l];
};
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** Camera-frame geometry per pixel: points (metres) and unit normals, x right, y down, z forward. */
interface Geometry {
  P: Float32Array;
  N: Float32Array;
  ray: Float32Array;
}

function geometry(gb: GBuffer, cam: Camera): Geometry {
  const { width: W, height: H } = gb;
  const n = W * H;
  const P = new Float32Array(3 * n);
  const N = new Float32Array(3 * n);
  const ray = new Float32Array(3 * n);
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      const k = py * W + px;
      const r = norm([((px + 0.5) / H - cam.aspect / 2) / cam.focal, ((py + 0.5) / H - 0.5) / cam.focal, 1]);
      const d = gb.depth[k]!;
      for (let c = 0; c < 3; c++) {
        ray[3 * k + c] = r[c]!;
        P[3 * k + c] = r[c]! * d;
      }
      // View-space normals have z towards the camera; the camera frame's z looks away.
      N[3 * k] = gb.nx[k]!;
      N[3 * k + 1] = gb.ny[k]!;
      N[3 * k + 2] = -gb.nz[k]!;
    }
  }
  return { P, N, ray };
}

/** Renders `gb` under `cond`; returns 8-bit RGB, interleaved. */
export function renderCondition(gb: GBuffer, cam: Camera, cond: Condition, p: SynthParams, rng: Rng): Uint8Array {
  const geo = geometry(gb, cam);
  const lin = cond === 'bright' ? bright(gb, geo, cam, p, p.bright, rng) : dark(gb, geo, cam, p, p.dark, rng);
  const b = p.bright;
  const exposure = cond === 'dark' ? p.dark.exposure : b.exposure === 'auto' ? autoExposure(lin, b.exposureTarget) : b.exposure;
  return sensor(gb, lin, p.camera.blur, cond === 'bright' ? b : p.dark, rng, exposure);
}

/** Adds the water: I = J t + B (1 - t), with a per-pixel backscatter scale. */
function water(gb: GBuffer, J: Planes, beta: V3, B: V3, bScale?: Float32Array): void {
  const n = gb.width * gb.height;
  for (let k = 0; k < n; k++) {
    const d = gb.depth[k]!;
    const s = bScale ? bScale[k]! : 1;
    for (let c = 0; c < 3; c++) {
      const t = Math.exp(-beta[c]! * d);
      J[c]![k] = J[c]![k]! * t + B[c]! * s * (1 - t);
    }
  }
}

function bright(gb: GBuffer, g: Geometry, cam: Camera, p: SynthParams, b: BrightParams, rng: Rng): Planes {
  const n = gb.width * gb.height;
  const J: Planes = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  // Light from above (negative y), a little from the side and the front.
  const L = norm([rng.range(-0.5, 0.5), -1, rng.range(-0.6, -0.1)]);
  for (let k = 0; k < n; k++) {
    const nx = g.N[3 * k]!;
    const ny = g.N[3 * k + 1]!;
    const nz = g.N[3 * k + 2]!;
    const ndl = Math.max(0, nx * L[0] + ny * L[1] + nz * L[2]);
    // Half vector between light and the direction back to the camera.
    const h = norm([L[0] - g.ray[3 * k]!, L[1] - g.ray[3 * k + 1]!, L[2] - g.ray[3 * k + 2]!]);
    const ndh = Math.max(0, nx * h[0] + ny * h[1] + nz * h[2]);
    const spec = gb.spec[k]! * Math.pow(ndh, gb.shininess[k]!) * b.illumination * 0.6;
    const E = b.ambient + b.illumination * ndl;
    for (let c = 0; c < 3; c++) J[c]![k] = gb.albedo[3 * k + c]! * E + spec;
  }
  water(gb, J, p.water.beta, b.backscatter);
  marineSnow(gb, J, cam, b.marineSnow, () => 0.35, p.water.beta, rng);
  return J;
}

function dark(gb: GBuffer, g: Geometry, cam: Camera, p: SynthParams, dk: DarkParams, rng: Rng): Planes {
  const { width: W, height: H } = gb;
  const n = W * H;
  const beta = p.water.beta;
  const J: Planes = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const lamp: V3 = [rng.pick([-1, 1]) * rng.range(0.1, 0.35), rng.range(-0.3, 0.1), 0];
  const aim: V3 = [rng.range(-0.5, 0.5), rng.range(-0.4, 0.4), 2.5];
  const axis = norm([aim[0] - lamp[0], aim[1] - lamp[1], aim[2] - lamp[2]]);
  const cone = (dk.lamp.cone * Math.PI) / 180;
  const spotOf = (dir: V3): number => {
    const cos = Math.min(1, dir[0] * axis[0] + dir[1] * axis[1] + dir[2] * axis[2]);
    const ang = Math.acos(cos);
    return Math.exp(-Math.LN2 * Math.pow(ang / cone, 2 * Math.max(0.1, dk.lamp.falloff)));
  };
  const bScale = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const P: V3 = [g.P[3 * k]!, g.P[3 * k + 1]!, g.P[3 * k + 2]!];
    const toLamp: V3 = [lamp[0] - P[0], lamp[1] - P[1], lamp[2] - P[2]];
    const dist = Math.hypot(...toLamp);
    const l: V3 = [toLamp[0] / dist, toLamp[1] / dist, toLamp[2] / dist];
    const spot = spotOf([-l[0], -l[1], -l[2]]);
    const nx = g.N[3 * k]!;
    const ny = g.N[3 * k + 1]!;
    const nz = g.N[3 * k + 2]!;
    const ndl = Math.max(0, nx * l[0] + ny * l[1] + nz * l[2]);
    const h = norm([l[0] - g.ray[3 * k]!, l[1] - g.ray[3 * k + 1]!, l[2] - g.ray[3 * k + 2]!]);
    const ndh = Math.max(0, nx * h[0] + ny * h[1] + nz * h[2]);
    const irr = (dk.lamp.intensity * spot) / (dist * dist);
    const spec = gb.spec[k]! * Math.pow(ndh, gb.shininess[k]!) * irr;
    for (let c = 0; c < 3; c++) {
      // The lamp's light is attenuated on its way to the surface too.
      const E = dk.ambient + irr * ndl * Math.exp(-beta[c]! * dist);
      J[c]![k] = gb.albedo[3 * k + c]! * E + spec * Math.exp(-beta[c]! * dist);
    }
    // Backscatter is lit by the lamp: stronger where the ray runs through the cone.
    bScale[k] = 0.35 + 0.65 * spotOf([g.ray[3 * k]!, g.ray[3 * k + 1]!, g.ray[3 * k + 2]!]);
  }
  const laser = laserLines(gb, g, cam, dk, rng);
  for (let c = 0; c < 3; c++) for (let k = 0; k < n; k++) J[c]![k]! += laser[c]![k]!;
  water(gb, J, beta, dk.backscatter, bScale);
  // Glow halo: laser light scattered by the water around the line.
  const sigma = dk.laser.glowRadius * H * 0.5;
  if (dk.laser.glow > 0 && sigma > 0.05) {
    for (let c = 0; c < 3; c++) {
      const attenuated = new Float32Array(n);
      for (let k = 0; k < n; k++) attenuated[k] = laser[c]![k]! * Math.exp(-beta[c]! * gb.depth[k]!);
      const halo = gaussianBlur(attenuated, W, H, sigma);
      const wide = gaussianBlur(attenuated, W, H, sigma * 3);
      for (let k = 0; k < n; k++) J[c]![k]! += dk.laser.glow * (0.7 * halo[k]! + 0.3 * wide[k]!);
    }
  }
  marineSnow(gb, J, cam, dk.marineSnow, (x, y, d) => {
    const dir = norm([(x - cam.aspect / 2) / cam.focal, (y - 0.5) / cam.focal, 1]);
    return (dk.lamp.intensity * 0.5 * spotOf(dir)) / Math.max(0.05, d * d) + dk.ambient;
  }, beta, rng);
  return J;
}

/**
 * Laser lines: each laser is a sheet of light from a source beside the
 * camera. It draws a line where the sheet meets a surface, so the line bends
 * and breaks where distance changes, like a structured-light scanner's.
 */
function laserLines(gb: GBuffer, g: Geometry, cam: Camera, dk: DarkParams, rng: Rng): Planes {
  const { width: W, height: H } = gb;
  const n = W * H;
  const out: Planes = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const count = rng.int(dk.laser.count[0], dk.laser.count[1]);
  const wpx = Math.max(0.45, dk.laser.width * H);
  const col = dk.laser.colour;
  const sd = new Float32Array(n);
  for (let i = 0; i < count; i++) {
    const S: V3 = [rng.range(-0.3, 0.3), rng.range(-0.25, 0.25), 0];
    // Two points the sheet passes through, 2.5 m out along rays near the middle of the frame.
    const cx = cam.aspect * rng.range(0.2, 0.8);
    const cy = rng.range(0.2, 0.8);
    const ang = rng.next() < 0.6 ? rng.range(-0.5, 0.5) : rng.range(0, Math.PI);
    const pt = (s: number): V3 => {
      const r = norm([(cx + Math.cos(ang) * s - cam.aspect / 2) / cam.focal, (cy + Math.sin(ang) * s - 0.5) / cam.focal, 1]);
      return [r[0] * 2.5 - S[0], r[1] * 2.5 - S[1], r[2] * 2.5 - S[2]];
    };
    const Nl = norm(cross(pt(-0.3), pt(0.3)));
    for (let k = 0; k < n; k++) {
      sd[k] = Nl[0] * (g.P[3 * k]! - S[0]) + Nl[1] * (g.P[3 * k + 1]! - S[1]) + Nl[2] * (g.P[3 * k + 2]! - S[2]);
    }
    for (let py = 0; py < H; py++) {
      for (let px = 0; px < W; px++) {
        const k = py * W + px;
        // Pixel distance to the zero crossing: |sd| over the gentler one-sided gradient,
        // so a depth edge next door does not make the line vanish on a smooth surface.
        const gx = Math.min(px > 0 ? Math.abs(sd[k]! - sd[k - 1]!) : Infinity, px < W - 1 ? Math.abs(sd[k + 1]! - sd[k]!) : Infinity);
        const gy = Math.min(py > 0 ? Math.abs(sd[k]! - sd[k - W]!) : Infinity, py < H - 1 ? Math.abs(sd[k + W]! - sd[k]!) : Infinity);
        const grad = Math.max(1e-7, Math.hypot(gx, gy));
        const dpx = Math.abs(sd[k]!) / grad;
        if (dpx > 6 * wpx) continue;
        const core = Math.exp(-0.5 * (dpx / wpx) ** 2);
        const P: V3 = [g.P[3 * k]!, g.P[3 * k + 1]!, g.P[3 * k + 2]!];
        const toS: V3 = [S[0] - P[0], S[1] - P[1], S[2] - P[2]];
        const dist = Math.hypot(...toS);
        const l: V3 = [toS[0] / dist, toS[1] / dist, toS[2] / dist];
        const nx = g.N[3 * k]!;
        const ny = g.N[3 * k + 1]!;
        const nz = g.N[3 * k + 2]!;
        const ndl = Math.max(0, nx * l[0] + ny * l[1] + nz * l[2]);
        const h = norm([l[0] - g.ray[3 * k]!, l[1] - g.ray[3 * k + 1]!, l[2] - g.ray[3 * k + 2]!]);
        const ndh = Math.max(0, nx * h[0] + ny * h[1] + nz * h[2]);
        const a = gb.albedo;
        const lum = 0.3 * a[3 * k]! + 0.6 * a[3 * k + 1]! + 0.1 * a[3 * k + 2]!;
        // A laser is bright on anything it hits; the surface only tints it a little.
        const diffuse = dk.laser.intensity * core * (0.35 + 0.65 * ndl) * (0.4 + 1.2 * lum);
        // Specular spots: wider than the core (blooming) where a shiny surface mirrors the laser.
        const spot = dk.laser.specular * gb.spec[k]! * Math.pow(ndh, gb.shininess[k]!) * Math.exp(-0.5 * (dpx / (2.5 * wpx)) ** 2);
        for (let c = 0; c < 3; c++) out[c]![k]! += diffuse * col[c]! + spot * (0.6 * col[c]! + 0.4);
      }
    }
  }
  return out;
}

/**
 * Marine snow: particles floating between the camera and the scene, lit by
 * `light(x, y, distance)`; near ones are large and out of focus.
 */
function marineSnow(
  gb: GBuffer,
  J: Planes,
  cam: Camera,
  density: number,
  light: (x: number, y: number, d: number) => number,
  beta: V3,
  rng: Rng,
): void {
  const { width: W, height: H } = gb;
  const count = Math.round((density * W * H) / 10_000);
  for (let i = 0; i < count; i++) {
    const x = rng.range(0, W);
    const y = rng.range(0, H);
    const k = Math.min(H - 1, Math.floor(y)) * W + Math.min(W - 1, Math.floor(x));
    const surface = gb.depth[k]!;
    const d = rng.range(0.15, Math.max(0.2, Math.min(surface, 2.5)));
    const size = rng.range(0.001, 0.004);
    const focusBlur = 0.004 / d;
    const sigma = Math.max(0.35, ((size + focusBlur * 0.2) * cam.focal * H) / d / 2);
    const energy = light(x / H, y / H, d) * rng.range(0.3, 1) * 0.6;
    const r = Math.ceil(3 * sigma);
    for (let yy = Math.max(0, Math.floor(y - r)); yy <= Math.min(H - 1, Math.ceil(y + r)); yy++) {
      for (let xx = Math.max(0, Math.floor(x - r)); xx <= Math.min(W - 1, Math.ceil(x + r)); xx++) {
        const q = ((xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2) / (2 * sigma * sigma);
        const f = energy * Math.exp(-q) * Math.min(1, 0.8 / sigma);
        if (f < 1e-4) continue;
        const kk = yy * W + xx;
        for (let c = 0; c < 3; c++) J[c]![kk]! += f * Math.exp(-beta[c]! * d) * (c === 0 ? 0.9 : 1);
      }
    }
  }
}

/** Exposure that puts the mean linear brightness at `target` (clamped like a real camera's range). */
function autoExposure(J: Planes, target: number): number {
  const n = J[0].length;
  let sum = 0;
  for (let k = 0; k < n; k++) sum += 0.25 * J[0][k]! + 0.6 * J[1][k]! + 0.15 * J[2][k]!;
  const mean = sum / n;
  return Math.min(6, Math.max(0.3, target / Math.max(1e-4, mean)));
}

/** Optics blur, exposure, vignetting, noise, gamma, 8-bit. */
function sensor(gb: GBuffer, J: Planes, blur: number, c: { vignetting: number; noise: number }, rng: Rng, exposure: number): Uint8Array {
  const { width: W, height: H } = gb;
  const n = W * H;
  const blurred = J.map((pl) => gaussianBlur(pl, W, H, blur)) as Planes;
  const out = new Uint8Array(3 * n);
  const cx = W / 2;
  const cy = H / 2;
  const rmax2 = cx * cx + cy * cy;
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      const k = py * W + px;
      const r2 = ((px + 0.5 - cx) ** 2 + (py + 0.5 - cy) ** 2) / rmax2;
      const vig = 1 - c.vignetting * r2 * (0.6 + 0.4 * r2);
      for (let ch = 0; ch < 3; ch++) {
        let v = blurred[ch]![k]! * exposure * vig;
        if (c.noise > 0) v += Math.sqrt(c.noise * c.noise + 0.5 * c.noise * Math.max(0, v)) * rng.normal();
        v = v <= 0 ? 0 : v >= 1 ? 1 : Math.pow(v, 1 / 2.2);
        out[3 * k + ch] = Math.round(v * 255);
      }
    }
  }
  return out;
}
