/**
 * COCO-style instances from an index label image: one instance per connected
 * component (8-connected) of each class, with its bounding box, its pixel area
 * and its shape (OpenCV connected components + contours): the outer contour as
 * polygon, or run-length encoding for a component with holes (COCO polygons
 * cannot leave a hole out).
 */
import type { CV } from '../lib/image/opencv.ts';
import { MatScope } from '../lib/image/opencv.ts';
import type { GrayImage } from '../lib/image/types.ts';
import { componentRle, type CocoRle } from './rle.ts';

export type { CocoRle } from './rle.ts';

/**
 * How instances are shaped in COCO: `auto` = polygon, or RLE for an instance
 * with holes; `polygon` = always the outer polygon (for tools that take
 * polygons only; holes then count as object); `rle` = always RLE.
 */
export type CocoSegmentation = 'auto' | 'polygon' | 'rle';

/**
 * One object instance; `segmentation` holds flat [x1, y1, x2, y2, ...]
 * polygons or one uncompressed RLE (COCO layout). `area` is the pixel count.
 */
export interface Instance {
  category: number;
  bbox: [number, number, number, number];
  area: number;
  segmentation: number[][] | CocoRle;
}

/**
 * Instances of every class index in `classes` found in `labels`. Components
 * whose contour has fewer than 3 corners (a dot, a thin line) get their
 * bounding box as polygon, because COCO tools need at least 3 points.
 */
export function findInstances(cv: CV, labels: GrayImage, classes: number[], epsilon: number, shape: CocoSegmentation = 'auto'): Instance[] {
  const out: Instance[] = [];
  const { width, height } = labels;
  const s = new MatScope();
  try {
    const bin = s.add(new cv.Mat(height, width, cv.CV_8UC1));
    const comp = s.add(new cv.Mat());
    const stats = s.add(new cv.Mat());
    const centroids = s.add(new cv.Mat());
    const hierarchy = s.add(new cv.Mat());
    for (const k of classes) {
      const bd = bin.data;
      const ld = labels.data;
      let any = false;
      for (let i = 0; i < ld.length; i++) {
        const hit = ld[i] === k;
        bd[i] = hit ? 255 : 0;
        any ||= hit;
      }
      if (!any) continue;
      const n = cv.connectedComponentsWithStats(bin, comp, stats, centroids, 8, cv.CV_32S);
      const contours = new cv.MatVector();
      try {
        // Two levels: outer borders of every component (those inside another's hole
        // too, which RETR_EXTERNAL would drop) and the borders of holes.
        cv.findContours(bin, contours, hierarchy, cv.RETR_CCOMP, cv.CHAIN_APPROX_SIMPLE);
        const parents = Int32Array.from(hierarchy.data32S).filter((_, j) => j % 4 === 3);
        const polys = new Map<number, number[][]>();
        const holed = new Set<number>();
        for (let i = 0; i < contours.size(); i++) {
          const c = contours.get(i);
          const simple = new cv.Mat();
          try {
            // the contour's first point lies on its component (hole borders too): that
            // names the component (views are fetched afresh: any allocation may grow
            // and move the wasm heap)
            const id = comp.data32S[c.data32S[1]! * width + c.data32S[0]!]!;
            if (parents[i]! >= 0) {
              holed.add(id);
              continue;
            }
            if (epsilon > 0) cv.approxPolyDP(c, simple, epsilon, true);
            else c.copyTo(simple);
            const pts = Array.from(simple.data32S);
            if (pts.length >= 6) {
              const list = polys.get(id) ?? [];
              list.push(pts);
              polys.set(id, list);
            }
          } finally {
            simple.delete();
            c.delete();
          }
        }
        const st = Int32Array.from(stats.data32S);
        const ids = comp.data32S;
        for (let id = 1; id < n; id++) {
          const [x, y, w, h, area] = [st[id * 5]!, st[id * 5 + 1]!, st[id * 5 + 2]!, st[id * 5 + 3]!, st[id * 5 + 4]!];
          const rle = shape === 'rle' || (shape === 'auto' && holed.has(id));
          const segmentation = rle
            ? componentRle(ids, width, height, id, x, x + w - 1)
            : (polys.get(id) ?? [[x, y, x + w - 1, y, x + w - 1, y + h - 1, x, y + h - 1]]);
          out.push({ category: k, bbox: [x, y, w, h], area, segmentation });
        }
      } finally {
        contours.delete();
      }
    }
    return out;
  } finally {
    s.free();
  }
}
