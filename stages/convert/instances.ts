/**
 * COCO-style instances from an index label image: one instance per connected
 * component (8-connected) of each class, with its outer contour as polygon,
 * its bounding box and its pixel area (OpenCV connected components + contours).
 */
import type { CV } from '../lib/image/opencv.ts';
import { MatScope } from '../lib/image/opencv.ts';
import type { GrayImage } from '../lib/image/types.ts';

/** One object instance; `segmentation` holds flat [x1, y1, x2, y2, ...] polygons (COCO layout). */
export interface Instance {
  category: number;
  bbox: [number, number, number, number];
  area: number;
  segmentation: number[][];
}

/**
 * Instances of every class index in `classes` found in `labels`. Components
 * whose contour has fewer than 3 corners (a dot, a thin line) get their
 * bounding box as polygon, because COCO tools need at least 3 points.
 */
export function findInstances(cv: CV, labels: GrayImage, classes: number[], epsilon: number): Instance[] {
  const out: Instance[] = [];
  const s = new MatScope();
  try {
    const bin = s.add(new cv.Mat(labels.height, labels.width, cv.CV_8UC1));
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
        cv.findContours(bin, contours, hierarchy, cv.RETR_EXTERNAL, cv.CHAIN_APPROX_SIMPLE);
        const polys = new Map<number, number[][]>();
        for (let i = 0; i < contours.size(); i++) {
          const c = contours.get(i);
          const simple = new cv.Mat();
          try {
            if (epsilon > 0) cv.approxPolyDP(c, simple, epsilon, true);
            else c.copyTo(simple);
            const pts = Array.from(simple.data32S);
            // the contour's first point lies on its component: that names the component
            // (views are fetched afresh: any allocation may grow and move the wasm heap)
            const id = comp.data32S[c.data32S[1]! * labels.width + c.data32S[0]!]!;
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
        const st = stats.data32S;
        for (let id = 1; id < n; id++) {
          const [x, y, w, h, area] = [st[id * 5]!, st[id * 5 + 1]!, st[id * 5 + 2]!, st[id * 5 + 3]!, st[id * 5 + 4]!];
          const segmentation = polys.get(id) ?? [[x, y, x + w - 1, y, x + w - 1, y + h - 1, x, y + h - 1]];
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
