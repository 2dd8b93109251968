/**
 * 2.5-D primitives the scenes are built from, each a signed-distance shape
 * on the image plane with a curved surface (for shading) and a distance in
 * metres (for occlusion and water). Coordinates are in image-height units:
 * x in [0, width/height], y in [0, 1], y down. Normals are in view space,
 * z towards the camera.
 */
import { valueNoise } from './noise.ts';
import { albedoAt, type Material } from './materials.ts';
import type { GBuffer } from './gbuffer.ts';

export type Vec2 = [number, number];

/** What a primitive reports about the surface under one sample. */
export interface Surf {
  nx: number;
  ny: number;
  nz: number;
  depth: number;
  /** Texture coordinates (image-height units along / across the surface). */
  u: number;
  v: number;
}

export interface Prim {
  label: number;
  mat: Material;
  /** Bounding box [x0, y0, x1, y1] in image-height units. */
  bbox: [number, number, number, number];
  /** Fills `s` and returns true when (x, y) lies on the primitive. */
  hit(x: number, y: number, s: Surf): boolean;
}

/** Linear change of distance across the image plane (metres per image-height unit). */
export interface DepthPlane {
  d: number;
  gx: number;
  gy: number;
}

const flat = (d: number): DepthPlane => ({ d, gx: 0, gy: 0 });

function setNormal(s: Surf, x: number, y: number, z: number): void {
  const l = Math.hypot(x, y, z) || 1;
  s.nx = x / l;
  s.ny = y / l;
  s.nz = z / l;
}

/** How the surface of a box curves: a cylinder across v, across u, or a dome. */
export type BoxShade = 'across' | 'along' | 'dome';

/** Rounded rectangle centred at `c` with long axis `a`, shaded as a curved solid. */
export class Box implements Prim {
  bbox: [number, number, number, number];
  private readonly ax: number;
  private readonly ay: number;
  constructor(
    readonly label: number,
    readonly mat: Material,
    private readonly c: Vec2,
    a: Vec2,
    private readonly hu: number,
    private readonly hv: number,
    private readonly plane: DepthPlane,
    /** How far the surface bulges towards the camera, metres. */
    private readonly bulge: number,
    private readonly shade: BoxShade = 'across',
    private readonly corner = 0,
    private readonly uOff = 0,
  ) {
    const l = Math.hypot(a[0], a[1]) || 1;
    this.ax = a[0] / l;
    this.ay = a[1] / l;
    const ex = Math.abs(this.ax) * hu + Math.abs(this.ay) * hv;
    const ey = Math.abs(this.ay) * hu + Math.abs(this.ax) * hv;
    this.bbox = [c[0] - ex, c[1] - ey, c[0] + ex, c[1] + ey];
  }

  hit(x: number, y: number, s: Surf): boolean {
    const dx = x - this.c[0];
    const dy = y - this.c[1];
    const lu = dx * this.ax + dy * this.ay;
    const lv = -dx * this.ay + dy * this.ax;
    const rc = Math.min(this.corner, this.hu, this.hv);
    const qx = Math.abs(lu) - (this.hu - rc);
    const qy = Math.abs(lv) - (this.hv - rc);
    const sdf = Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - rc;
    if (sdf > 0) return false;
    const px = -this.ay;
    const py = this.ax;
    let cu = 0;
    let cv = 0;
    if (this.shade === 'across' || this.shade === 'dome') cv = clamp1(lv / this.hv);
    if (this.shade === 'along' || this.shade === 'dome') cu = clamp1(lu / this.hu);
    // Bevel the flat ends so they catch light like real edges.
    const bev = 0.25 * Math.min(this.hu, this.hv);
    if (this.shade === 'across') cu = bevel(lu, this.hu, bev);
    if (this.shade === 'along') cv = bevel(lv, this.hv, bev);
    const r2 = Math.min(0.96, cu * cu + cv * cv);
    setNormal(s, this.ax * cu + px * cv, this.ay * cu + py * cv, Math.sqrt(1 - r2));
    s.depth = this.plane.d + this.plane.gx * dx + this.plane.gy * dy - this.bulge * s.nz;
    s.u = lu + this.uOff;
    s.v = lv;
    return true;
  }
}

const clamp1 = (t: number): number => (t < -1 ? -1 : t > 1 ? 1 : t);

function bevel(l: number, half: number, width: number): number {
  const e = (half - Math.abs(l)) / width;
  return e >= 1 ? 0 : Math.sign(l) * 0.7 * (1 - Math.max(0, e));
}

/** A cylinder along a polyline (straight or bent pipe); distance varies linearly along it. */
export class Tube implements Prim {
  bbox: [number, number, number, number];
  private readonly cum: number[] = [0];
  constructor(
    readonly label: number,
    readonly mat: Material,
    readonly pts: Vec2[],
    readonly r: number,
    readonly d0: number,
    readonly d1: number,
    /** Radius in metres at the tube's middle distance. */
    private readonly bulge: number,
  ) {
    for (let i = 1; i < pts.length; i++) {
      const p = pts[i - 1]!;
      const q = pts[i]!;
      this.cum.push(this.cum[i - 1]! + Math.hypot(q[0] - p[0], q[1] - p[1]));
    }
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    this.bbox = [Math.min(...xs) - r, Math.min(...ys) - r, Math.max(...xs) + r, Math.max(...ys) + r];
  }

  get length(): number {
    return this.cum[this.cum.length - 1]!;
  }

  /** Point and unit direction at arc length `t`. */
  at(t: number): { p: Vec2; dir: Vec2 } {
    for (let i = 1; i < this.pts.length; i++) {
      if (t <= this.cum[i]! || i === this.pts.length - 1) {
        const p = this.pts[i - 1]!;
        const q = this.pts[i]!;
        const len = this.cum[i]! - this.cum[i - 1]!;
        const f = len > 0 ? (t - this.cum[i - 1]!) / len : 0;
        return { p: [p[0] + (q[0] - p[0]) * f, p[1] + (q[1] - p[1]) * f], dir: [(q[0] - p[0]) / len, (q[1] - p[1]) / len] };
      }
    }
    throw new Error('tube without points');
  }

  /** Distance of the axis at arc length `t`, metres. */
  depthAt(t: number): number {
    return this.d0 + (this.d1 - this.d0) * (t / (this.length || 1));
  }

  hit(x: number, y: number, s: Surf): boolean {
    let best = Infinity;
    let bx = 0;
    let by = 0;
    let barc = 0;
    let bcross = 0;
    for (let i = 1; i < this.pts.length; i++) {
      const p = this.pts[i - 1]!;
      const q = this.pts[i]!;
      const ex = q[0] - p[0];
      const ey = q[1] - p[1];
      const len2 = ex * ex + ey * ey;
      const t = len2 > 0 ? Math.max(0, Math.min(1, ((x - p[0]) * ex + (y - p[1]) * ey) / len2)) : 0;
      const cx = p[0] + ex * t;
      const cy = p[1] + ey * t;
      const d2 = (x - cx) ** 2 + (y - cy) ** 2;
      if (d2 < best) {
        best = d2;
        bx = cx;
        by = cy;
        barc = this.cum[i - 1]! + t * Math.sqrt(len2);
        bcross = (ex * (y - p[1]) - ey * (x - p[0])) / Math.sqrt(len2 || 1);
      }
    }
    const dist = Math.sqrt(best);
    if (dist > this.r) return false;
    const k = Math.min(0.97, dist / this.r);
    const l = dist || 1;
    setNormal(s, ((x - bx) / l) * k, ((y - by) / l) * k, Math.sqrt(1 - k * k));
    s.depth = this.depthAt(barc) - this.bulge * s.nz;
    s.u = barc;
    s.v = bcross;
    return true;
  }
}

/**
 * A torus seen at a tilt (the rim of a hand wheel): an ellipse with major
 * radius R along e1 and minor R*q, its tube `w` wide on the image everywhere.
 */
export class Ring implements Prim {
  bbox: [number, number, number, number];
  constructor(
    readonly label: number,
    readonly mat: Material,
    private readonly c: Vec2,
    private readonly e1: Vec2,
    private readonly R: number,
    private readonly q: number,
    private readonly w: number,
    private readonly plane: DepthPlane,
    private readonly bulge: number,
  ) {
    const ext = R + w;
    this.bbox = [c[0] - ext, c[1] - ext, c[0] + ext, c[1] + ext];
  }

  hit(x: number, y: number, s: Surf): boolean {
    const dx = x - this.c[0];
    const dy = y - this.c[1];
    const [ex, ey] = this.e1;
    const xa = dx * ex + dy * ey;
    const yb = (-dx * ey + dy * ex) / this.q;
    const rho = Math.hypot(xa, yb) || 1e-9;
    const gx = xa / rho;
    const gy = yb / rho / this.q;
    const g = Math.hypot(gx, gy);
    const dist = (rho - this.R) / g;
    if (Math.abs(dist) > this.w) return false;
    const k = clamp1(dist / this.w) * 0.97;
    // Image direction of growing rho.
    const ix = (gx * ex - gy * ey) / g;
    const iy = (gx * ey + gy * ex) / g;
    setNormal(s, ix * k, iy * k, Math.sqrt(1 - k * k));
    s.depth = this.plane.d + this.plane.gx * dx + this.plane.gy * dy - this.bulge * s.nz;
    s.u = Math.atan2(yb, xa) * this.R;
    s.v = dist;
    return true;
  }
}

/**
 * An ellipse with a domed surface; with `rough` > 0 its outline wobbles
 * (rocks, lumps of growth).
 */
export class Blob implements Prim {
  bbox: [number, number, number, number];
  constructor(
    readonly label: number,
    readonly mat: Material,
    private readonly c: Vec2,
    private readonly e1: Vec2,
    private readonly rx: number,
    private readonly ry: number,
    private readonly plane: DepthPlane,
    private readonly bulge: number,
    private readonly rough = 0,
    private readonly seed = 0,
  ) {
    const ext = Math.max(rx, ry) * (1 + rough);
    this.bbox = [c[0] - ext, c[1] - ext, c[0] + ext, c[1] + ext];
  }

  hit(x: number, y: number, s: Surf): boolean {
    const dx = x - this.c[0];
    const dy = y - this.c[1];
    const [ex, ey] = this.e1;
    const a = (dx * ex + dy * ey) / this.rx;
    const b = (-dx * ey + dy * ex) / this.ry;
    let r = Math.hypot(a, b);
    if (this.rough > 0) {
      const ang = Math.atan2(b, a);
      const wob = valueNoise(Math.cos(ang) * 2 + 5, Math.sin(ang) * 2 + 5, this.seed) - 0.5;
      r /= 1 + this.rough * 2 * wob;
    }
    if (r > 1) return false;
    const k = Math.min(0.97, r);
    const l = Math.hypot(a, b) || 1;
    const ix = (a / l) * ex - (b / l) * ey;
    const iy = (a / l) * ey + (b / l) * ex;
    setNormal(s, ix * k, iy * k, Math.sqrt(1 - k * k));
    s.depth = this.plane.d + this.plane.gx * dx + this.plane.gy * dy - this.bulge * s.nz;
    s.u = dx;
    s.v = dy;
    return true;
  }
}

/** Rasterises primitives into `gb` with a depth test; pixels are sampled at their centres. */
export function rasterise(gb: GBuffer, prims: readonly Prim[]): void {
  const { width: W, height: H } = gb;
  const s: Surf = { nx: 0, ny: 0, nz: 1, depth: 0, u: 0, v: 0 };
  prims.forEach((prim, i) => {
    const x0 = Math.max(0, Math.floor(prim.bbox[0] * H - 0.5));
    const y0 = Math.max(0, Math.floor(prim.bbox[1] * H - 0.5));
    const x1 = Math.min(W - 1, Math.ceil(prim.bbox[2] * H));
    const y1 = Math.min(H - 1, Math.ceil(prim.bbox[3] * H));
    for (let py = y0; py <= y1; py++) {
      const y = (py + 0.5) / H;
      for (let px = x0; px <= x1; px++) {
        const x = (px + 0.5) / H;
        if (!prim.hit(x, y, s)) continue;
        const k = py * W + px;
        if (!(s.depth < gb.depth[k]!)) continue;
        gb.depth[k] = s.depth;
        gb.label[k] = prim.label;
        gb.owner[k] = i + 1;
        gb.nx[k] = s.nx;
        gb.ny[k] = s.ny;
        gb.nz[k] = s.nz;
        const cover = albedoAt(prim.mat, s.u, s.v, Math.max(0, -s.ny), gb.albedo, 3 * k);
        gb.spec[k] = prim.mat.spec * (1 - 0.85 * cover);
        gb.shininess[k] = prim.mat.shininess;
      }
    }
  });
}

export { flat };
