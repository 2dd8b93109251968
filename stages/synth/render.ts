/**
 * Renders one scene index under the requested conditions: pure, synchronous
 * and deterministic — the output depends only on (params, index). Workers
 * call this; tests call it directly.
 */
import { STUDY_PALETTE } from '../lib/image/palette.ts';
import { drawBackground } from './background.ts';
import { LABEL, makeGBuffer, type GBuffer } from './gbuffer.ts';
import { renderCondition } from './optics.ts';
import { makeRng } from './prng.ts';
import { rasterise } from './primitives.ts';
import { makeCamera, makeScene } from './scene.ts';
import { CONDITIONS, type Condition, type SynthParams } from './params.ts';
import { imageStats, type ImageStats } from './stats.ts';

/** Mask colours of the labels (background, valve, pipe): the study's class list, in LABEL order. */
export const PALETTE: readonly (readonly [number, number, number])[] = STUDY_PALETTE.map((e) => e.color);

/** One rendered frame: 8-bit RGB image and RGB mask, interleaved, width*height*3. */
export interface Frame {
  condition: Condition;
  image: Uint8Array;
  mask: Uint8Array;
  stats: ImageStats;
}

// Stream ids keep the scene's and the light's random numbers apart.
const SCENE_STREAM = 0x5ce4e;
const LIGHT_STREAM = 0x119b7;

/** Rasterises the scene geometry of `index` (for `condition` when not paired). */
export function sceneGeometry(p: SynthParams, index: number, condition: Condition): GBuffer {
  const condId = CONDITIONS.indexOf(condition);
  const rng = makeRng(p.seed, index, SCENE_STREAM, p.paired ? 0 : condId + 1);
  const cam = makeCamera(p.width, p.height, p.camera.fov);
  const scene = makeScene(rng, cam, { scene: p.scene, distance: p.water.distance });
  const gb = makeGBuffer(p.width, p.height);
  drawBackground(gb, scene.background);
  rasterise(gb, scene.prims);
  return gb;
}

/** The VOC colour mask of a geometry buffer. */
export function maskOf(gb: GBuffer): Uint8Array {
  const n = gb.width * gb.height;
  const out = new Uint8Array(3 * n);
  for (let k = 0; k < n; k++) {
    const c = PALETTE[gb.label[k]!] ?? PALETTE[LABEL.background]!;
    out[3 * k] = c[0];
    out[3 * k + 1] = c[1];
    out[3 * k + 2] = c[2];
  }
  return out;
}

/** Renders scene `index` under each of `conditions`, in that order. */
export function renderIndex(p: SynthParams, index: number, conditions: readonly Condition[]): Frame[] {
  const cam = makeCamera(p.width, p.height, p.camera.fov);
  let shared: GBuffer | undefined;
  return conditions.map((condition) => {
    const gb = p.paired ? (shared ??= sceneGeometry(p, index, condition)) : sceneGeometry(p, index, condition);
    const rng = makeRng(p.seed, index, LIGHT_STREAM, CONDITIONS.indexOf(condition));
    const image = renderCondition(gb, cam, condition, p, rng);
    const mask = maskOf(gb);
    return { condition, image, mask, stats: imageStats(image, gb.label, gb.width) };
  });
}
