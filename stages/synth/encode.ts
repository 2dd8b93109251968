/**
 * JPEG and PNG encoding with every option spelled out, so the bytes depend
 * only on the pixels (and sharp's version), never on defaults that change.
 */
import sharp from 'sharp';

const raw = (width: number, height: number) => ({ raw: { width, height, channels: 3 as const } });

/** Baseline JPEG, 4:2:0, Huffman-optimised, no metadata. */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality: number): Promise<Buffer> {
  return sharp(rgb, raw(width, height))
    .jpeg({
      quality,
      progressive: false,
      chromaSubsampling: '4:2:0',
      optimiseCoding: true,
      mozjpeg: false,
      trellisQuantisation: false,
      overshootDeringing: false,
      optimiseScans: false,
      quantisationTable: 0,
    })
    .toBuffer();
}

/** Lossless 8-bit RGB PNG (masks must keep their exact palette colours). */
export function encodePng(rgb: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(rgb, raw(width, height))
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false, progressive: false })
    .toBuffer();
}
