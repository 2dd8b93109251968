/**
 * COCO run-length encoding of one connected component, for instances that
 * polygons cannot describe (a ring, a hand wheel seen face-on: COCO polygons
 * are unioned, so a hole drawn as a polygon would count as object).
 */

/**
 * COCO's uncompressed RLE: `counts` are run lengths over the pixels in
 * column-major order (down each column, columns left to right), alternating
 * background and object and starting with background (so a mask whose first
 * pixel is object starts with a 0); they sum to height x width. `size` is
 * [height, width]. pycocotools (`frPyObjects`) and Detectron2 accept it for
 * iscrowd 0 annotations.
 */
export interface CocoRle {
  counts: number[];
  size: [number, number];
}

/**
 * The RLE of the pixels of `ids` (a row-major component label image) equal to
 * `id`. Only columns `x0`..`x1` (the component's bounding box) are scanned;
 * every other column is background by definition.
 */
export function componentRle(ids: Int32Array, width: number, height: number, id: number, x0: number, x1: number): CocoRle {
  const counts: number[] = [];
  // column-major index where the current run began, and whether it is an object run
  let start = 0;
  let object = false;
  for (let x = x0; x <= x1; x++) {
    for (let y = 0; y < height; y++) {
      if ((ids[y * width + x] === id) !== object) {
        const p = x * height + y;
        counts.push(p - start);
        start = p;
        object = !object;
      }
    }
  }
  const total = width * height;
  if (object) {
    // an object run reaching the bottom of column x1 ends there (column x1 + 1 is background)
    const end = (x1 + 1) * height;
    counts.push(end - start);
    start = end;
  }
  if (start < total) counts.push(total - start);
  return { counts, size: [height, width] };
}
