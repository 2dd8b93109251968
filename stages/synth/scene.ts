/**
 * Scene generation: pipes (straight or bent cylinders), valves on them
 * (hand wheels with spokes, gate valves with flanges and bolts, butterfly
 * valves), rocks and a background, all from one seeded generator. Sizes are
 * chosen in metres and projected with the camera, so far objects look
 * smaller and the per-pixel distance map is consistent with what is drawn.
 */
import { makeBackground, backgroundDepth, type BackgroundSpec } from './background.ts';
import { LABEL } from './gbuffer.ts';
import { makeMaterial, rockMaterial, type Material, type RGB } from './materials.ts';
import { Blob, Box, Ring, Tube, type DepthPlane, type Prim, type Vec2 } from './primitives.ts';
import type { Rng } from './prng.ts';
import type { SceneParams, ValveType } from './params.ts';

/** Pinhole camera in image-height units. */
export interface Camera {
  /** width / height. */
  aspect: number;
  /** Focal length in image heights. */
  focal: number;
}

export function makeCamera(width: number, height: number, fovDeg: number): Camera {
  return { aspect: width / height, focal: 0.5 / Math.tan((fovDeg * Math.PI) / 360) };
}

/** Metres covered by one image-height unit at distance d. */
export const metresPerUnit = (cam: Camera, d: number): number => d / cam.focal;

export interface Scene {
  background: BackgroundSpec;
  prims: Prim[];
  /** Valve types drawn, in order (for the record). */
  valves: ValveType[];
}

export interface SceneOptions {
  scene: SceneParams;
  /** Object distance range, metres. */
  distance: [number, number];
}

const ROCK_TONES: RGB[] = [
  [0.25, 0.24, 0.22],
  [0.3, 0.22, 0.14],
  [0.15, 0.15, 0.14],
  [0.38, 0.3, 0.2],
  [0.18, 0.2, 0.12],
];

const STEEL: Material = { base: [0.35, 0.35, 0.36], rust: 0, growth: 0, scale: 40, seed: 1, spec: 0.6, shininess: 30 };

/** Builds a random scene. */
export function makeScene(rng: Rng, cam: Camera, o: SceneOptions): Scene {
  const A = cam.aspect;
  const sp = o.scene;
  const [dMin, dMax] = o.distance;
  const tubes: Tube[] = [];
  let farthest = 0;
  const nPipes = rng.int(sp.pipes[0], sp.pipes[1]);
  for (let i = 0; i < nPipes; i++) {
    const dMid = rng.range(dMin, dMax);
    const roll = rng.next();
    const theta = roll < 0.65 ? rng.range(-0.5, 0.5) : roll < 0.9 ? Math.PI / 2 + rng.range(-0.4, 0.4) : rng.range(0, Math.PI);
    const dir: Vec2 = [Math.cos(theta), Math.sin(theta)];
    const rM = rng.range(0.06, 0.16);
    const r = (rM * cam.focal) / dMid;
    const c: Vec2 = [rng.range(0.15, 0.85) * A, rng.range(0.2, 0.8)];
    const L = 2.5 * Math.max(A, 1);
    // Distance changes along the pipe (it recedes), but stays in front of the camera.
    const gMax = Math.max(0, (dMid - 0.4) / 1.5);
    const grad = rng.range(-1, 1) * Math.min(0.6, gMax);
    let pts: Vec2[];
    if (rng.chance(sp.bend)) {
      const turn = rng.pick([-1, 1]) * rng.range(0.5, 1.6);
      const d2: Vec2 = [Math.cos(theta + turn), Math.sin(theta + turn)];
      pts = [
        [c[0] - dir[0] * L, c[1] - dir[1] * L],
        c,
        [c[0] + d2[0] * L, c[1] + d2[1] * L],
      ];
    } else {
      pts = [
        [c[0] - dir[0] * L, c[1] - dir[1] * L],
        [c[0] + dir[0] * L, c[1] + dir[1] * L],
      ];
    }
    const total = 2 * L;
    const d0 = dMid - grad * (total / 2);
    const d1 = dMid + grad * (total / 2);
    const mat = makeMaterial(rng, 'pipe', sp.rust, sp.growth);
    tubes.push(new Tube(LABEL.pipe, mat, pts, r, d0, d1, rM));
    farthest = Math.max(farthest, dMid + Math.abs(grad) * 1.5 + rM);
  }

  const bgKind = sp.background === 'mixed' ? (rng.chance(0.6) ? 'seabed' : 'tank') : sp.background;
  const background = makeBackground(rng, bgKind, farthest + rng.range(0.2, 1.2));

  const prims: Prim[] = [];
  if (bgKind === 'seabed') {
    const nRocks = rng.int(sp.rocks[0], sp.rocks[1]);
    for (let i = 0; i < nRocks; i++) {
      const y = rng.range(0.3, 1.05);
      const d = backgroundDepth(background, y);
      const size = rng.range(0.1, 0.35) * (cam.focal / d);
      const rx = size * rng.range(0.7, 1.3);
      const ry = size * rng.range(0.4, 0.8);
      prims.push(
        new Blob(LABEL.background, rockMaterial(rng, rng.pick(ROCK_TONES)), [rng.range(-0.05, A + 0.05), y], [1, 0], rx, ry, { d: d - 0.05, gx: 0, gy: 0 }, metresPerUnit(cam, d) * ry, 0.25, rng.int(0, 2 ** 30)),
      );
    }
  }
  prims.push(...tubes);

  const valves: ValveType[] = [];
  const nValves = rng.int(sp.valves[0], sp.valves[1]);
  const taken: { tube: Tube; t: number; half: number }[] = [];
  for (let i = 0; i < nValves; i++) {
    const tube = rng.pick(tubes);
    const type = rng.pick(sp.valveTypes);
    const k = rng.range(1.1, 1.7);
    const half = 2.2 * tube.r * k;
    const t = pickSpot(rng, tube, A, half, taken.filter((x) => x.tube === tube));
    if (t === undefined) continue;
    taken.push({ tube, t, half });
    valves.push(type);
    prims.push(...makeValve(rng, cam, type, tube, t, k, sp));
  }
  return { background, prims, valves };
}

/** An arc length on `tube` that is (mostly) in frame, away from bends and other valves. */
function pickSpot(rng: Rng, tube: Tube, A: number, half: number, others: { t: number; half: number }[]): number | undefined {
  const joints: number[] = [];
  let acc = 0;
  for (let i = 1; i < tube.pts.length - 1; i++) {
    const p = tube.pts[i - 1]!;
    const q = tube.pts[i]!;
    acc += Math.hypot(q[0] - p[0], q[1] - p[1]);
    joints.push(acc);
  }
  const ok: number[] = [];
  const step = 0.02;
  for (let t = 0; t <= tube.length; t += step) {
    const { p } = tube.at(t);
    // Slightly beyond the frame is allowed: valves cut by the border are realistic.
    if (p[0] < -0.02 || p[0] > A + 0.02 || p[1] < -0.02 || p[1] > 1.02) continue;
    if (joints.some((j) => Math.abs(j - t) < half + tube.r)) continue;
    if (others.some((o) => Math.abs(o.t - t) < half + o.half)) continue;
    ok.push(t);
  }
  return ok.length ? rng.pick(ok) : undefined;
}

const add = (p: Vec2, q: Vec2, s = 1): Vec2 => [p[0] + q[0] * s, p[1] + q[1] * s];

/** The primitives of one valve sitting on `tube` at arc length t. */
function makeValve(rng: Rng, cam: Camera, type: ValveType, tube: Tube, t: number, k: number, sp: SceneParams): Prim[] {
  const { p: c, dir: a } = tube.at(t);
  // The bonnet/neck points up in the image most of the time.
  let p: Vec2 = [-a[1], a[0]];
  if (p[1] > 0) p = [-p[0], -p[1]];
  if (rng.chance(0.2)) p = [-p[0], -p[1]];
  const d = tube.depthAt(t);
  const mpu = metresPerUnit(cam, d);
  const rk = tube.r * k;
  const body = makeMaterial(rng, 'valve', sp.rust, sp.growth);
  const wheel = makeMaterial(rng, 'wheel', sp.rust * 0.5, sp.growth * 0.5);
  const steel: Material = { ...STEEL, seed: rng.int(0, 2 ** 30), rust: rng.chance(sp.rust) ? rng.range(0.2, 0.6) : 0 };
  const V = LABEL.valve;
  const at = (dd: number): DepthPlane => ({ d: dd, gx: 0, gy: 0 });
  const out: Prim[] = [];

  const flanges = (offset: number, thick: number, radius: number, bolts: boolean, boltSpan: number): void => {
    for (const s of [-1, 1]) {
      const fc = add(c, a, s * offset);
      out.push(new Box(V, body, fc, a, thick, radius, at(d), radius * mpu, 'across', 0.05 * rk));
    }
    if (!bolts) return;
    const n = rng.int(6, 8);
    const phi0 = rng.range(0, Math.PI);
    const rb = radius * 0.85;
    for (let i = 0; i < n; i++) {
      const phi = phi0 + (2 * Math.PI * i) / n;
      if (Math.sin(phi) < -0.3) continue;
      for (const s of boltSpan > 0 ? [0] : [-1, 1]) {
        const bc = add(add(c, a, s * offset), p, rb * Math.cos(phi));
        const hu = boltSpan > 0 ? boltSpan : thick + 0.22 * rk;
        out.push(new Box(V, steel, bc, a, hu, 0.11 * rk, at(d - rb * mpu * Math.sin(phi)), 0.11 * rk * mpu, 'across', 0.03 * rk));
      }
    }
  };

  const handwheel = (wc: Vec2, e1: Vec2, R: number, q: number, dW: number, spokes: number): void => {
    const e2: Vec2 = [-e1[1], e1[0]];
    const tilt = (Math.sqrt(1 - q * q) / q) * metresPerUnit(cam, dW) * rng.pick([-1, 1]);
    const plane = (pt: Vec2): DepthPlane => {
      const off = (pt[0] - wc[0]) * e2[0] + (pt[1] - wc[1]) * e2[1];
      return { d: dW + tilt * off, gx: tilt * e2[0], gy: tilt * e2[1] };
    };
    const w = R * rng.range(0.09, 0.13);
    const mW = metresPerUnit(cam, dW);
    out.push(new Ring(V, wheel, wc, e1, R, q, w, plane(wc), w * mW));
    const rot = rng.range(0, Math.PI);
    for (let i = 0; i < spokes; i++) {
      const phi = rot + (2 * Math.PI * i) / spokes;
      const rim = add(add(wc, e1, R * Math.cos(phi)), e2, q * R * Math.sin(phi));
      const mid: Vec2 = [(wc[0] + rim[0]) / 2, (wc[1] + rim[1]) / 2];
      const len = Math.hypot(rim[0] - wc[0], rim[1] - wc[1]);
      if (len < 1e-6) continue;
      const ax: Vec2 = [(rim[0] - wc[0]) / len, (rim[1] - wc[1]) / len];
      out.push(new Box(V, wheel, mid, ax, len / 2, w * 0.55, plane(mid), w * 0.5 * mW, 'across'));
    }
    const hub = R * 0.2;
    out.push(new Blob(V, wheel, wc, e1, hub, hub * Math.max(q, 0.5), { ...plane(wc), d: dW - w * mW }, hub * mW));
  };

  switch (type) {
    case 'gate': {
      const bl = 1.1 * rk;
      const bw = 1.4 * rk;
      out.push(new Box(V, body, c, a, bl, bw, at(d), bw * mpu, 'across', 0.35 * rk));
      flanges(bl + 0.2 * rk, 0.2 * rk, 1.75 * rk, true, 0);
      const bh = rng.range(1.2, 2.2) * rk;
      out.push(new Box(V, body, add(c, p, bw + bh / 2), a, 0.5 * rk, bh / 2 + 0.1 * rk, at(d), 0.5 * rk * mpu, 'along', 0.1 * rk));
      out.push(new Box(V, body, add(c, p, bw + bh), a, 0.75 * rk, 0.12 * rk, at(d), 0.75 * rk * mpu, 'along', 0.03 * rk));
      const stem = rng.range(0.4, 1.0) * rk;
      out.push(new Box(V, steel, add(c, p, bw + bh + stem / 2), a, 0.1 * rk, stem / 2 + 0.05 * rk, at(d), 0.1 * rk * mpu, 'along'));
      const wc = add(c, p, bw + bh + stem);
      handwheel(wc, a, rng.range(1.1, 1.6) * rk, rng.range(0.22, 0.55), d - 0.05 * rk * mpu, rng.int(3, 5));
      break;
    }
    case 'handwheel': {
      const bw = 1.25 * rk;
      out.push(new Blob(V, body, c, a, 1.3 * rk, bw, at(d), bw * mpu));
      flanges(1.3 * rk, 0.16 * rk, 1.55 * rk, rng.chance(0.6), 0);
      const R = rng.range(1.8, 3.0) * tube.r;
      const behind = rng.chance(0.2);
      const off = behind ? rng.range(1.6, 2.2) * R : rng.range(0, 1.0) * R;
      const wc = add(c, p, off);
      const dW = behind ? d + 1.5 * rk * mpu : d - (bw + rng.range(0.4, 1.2) * rk) * mpu;
      if (!behind) {
        // A stem from the body towards the wheel.
        const sl = Math.max(off, 0.2 * rk);
        out.push(new Box(V, steel, add(c, p, sl / 2), p, sl / 2, 0.14 * rk, at(dW + 0.1 * rk * mpu), 0.14 * rk * mpu, 'across'));
      } else {
        out.push(new Box(V, steel, add(c, p, off / 2), p, off / 2, 0.14 * rk, at(d + 0.5 * rk * mpu), 0.14 * rk * mpu, 'across'));
      }
      const ang = rng.range(0, Math.PI);
      handwheel(wc, [Math.cos(ang), Math.sin(ang)], R, rng.range(0.55, 1), dW, rng.int(3, 6));
      break;
    }
    case 'butterfly': {
      const hw = 0.35 * rk;
      out.push(new Box(V, body, c, a, hw, 1.55 * rk, at(d), 1.55 * rk * mpu, 'across', 0.1 * rk));
      flanges(hw + 0.15 * rk, 0.15 * rk, 1.8 * rk, true, hw + 0.45 * rk);
      const neck = rng.range(0.6, 1.1) * rk;
      out.push(new Box(V, body, add(c, p, 1.55 * rk + neck / 2), a, 0.22 * rk, neck / 2 + 0.05 * rk, at(d), 0.22 * rk * mpu, 'along'));
      const top = add(c, p, 1.55 * rk + neck);
      if (rng.chance(0.6)) {
        const ang = Math.atan2(a[1], a[0]) + rng.range(-0.4, 0.4);
        const la: Vec2 = [Math.cos(ang), Math.sin(ang)];
        const len = rng.range(1.0, 1.6) * rk;
        out.push(new Box(V, wheel, add(top, la, len * 0.7), la, len, 0.13 * rk, at(d - 0.3 * rk * mpu), 0.13 * rk * mpu, 'across', 0.1 * rk));
      } else {
        const gb = 0.6 * rk;
        out.push(new Box(V, body, add(top, p, gb * 0.6), a, 0.8 * rk, gb * 0.6, at(d), gb * mpu, 'dome', 0.2 * rk));
        handwheel(add(add(top, p, gb * 0.6), a, 0.8 * rk + 0.15 * rk), p, 0.6 * rk, rng.range(0.2, 0.4), d - 0.2 * rk * mpu, 4);
      }
      break;
    }
  }
  return out;
}
