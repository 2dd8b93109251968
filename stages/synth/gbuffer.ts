/**
 * The geometry buffer: what the rasteriser knows about each pixel before any
 * light is applied — distance, class label, surface normal, albedo and
 * shininess. The mask is the label plane, sampled at pixel centres with no
 * anti-aliasing, the same samples the image is shaded from.
 */

/** Label values (indices into the VOC palette). */
export const LABEL = { background: 0, valve: 1, pipe: 2 } as const;

/** Per-pixel scene data for one frame; all planes are width*height, row-major. */
export interface GBuffer {
  width: number;
  height: number;
  /** Camera-to-surface distance along the ray, metres. */
  depth: Float32Array;
  /** Class label (LABEL). */
  label: Uint8Array;
  /** Index of the primitive that won the pixel (0 = background), for edges. */
  owner: Uint16Array;
  /** Surface normal in view space: x right, y down, z towards the camera. */
  nx: Float32Array;
  ny: Float32Array;
  nz: Float32Array;
  /** Diffuse albedo, linear RGB, interleaved (3 per pixel). */
  albedo: Float32Array;
  /** Specular reflectance (0 = matte) and Phong exponent. */
  spec: Float32Array;
  shininess: Float32Array;
}

export function makeGBuffer(width: number, height: number): GBuffer {
  const n = width * height;
  return {
    width,
    height,
    depth: new Float32Array(n).fill(Infinity),
    label: new Uint8Array(n),
    owner: new Uint16Array(n),
    nx: new Float32Array(n),
    ny: new Float32Array(n),
    nz: new Float32Array(n).fill(1),
    albedo: new Float32Array(3 * n),
    spec: new Float32Array(n),
    shininess: new Float32Array(n).fill(1),
  };
}
