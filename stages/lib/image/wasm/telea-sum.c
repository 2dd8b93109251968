/*
 * The hot loop of Telea inpainting (../inpaint-telea.ts), compiled to
 * WebAssembly: the weighted sums over the known pixels of one disc. It is
 * sumDisc of inpaint-telea.ts line for line, in the same double arithmetic
 * and the same order, so the two give the same bits (the tests compare them);
 * that file explains the algorithm. WHY it exists: V8 runs sumDisc at ~16 ns
 * per neighbour (a check on every typed-array read, spilled accumulators);
 * as WebAssembly the loop takes about half the time, which the `deglare`
 * stage needs for its 2x-over-Python goal (issue 17).
 *
 * Rebuild after editing: sh stages/lib/image/wasm/build.sh (needs Debian's
 * clang-14 and lld-14); it rewrites telea-sum.wasm.ts beside this file.
 * -ffp-contract=off and no -ffast-math keep every multiply and add rounded
 * on its own, as in JavaScript.
 */
#include <stdint.h>

/* Set once per image by setup(): sizes and the arrays, all in this module's memory. */
static int W, EW, EH, NW, R;
static const float *T;        /* arrival times, per ext pixel */
static const uint8_t *img;    /* the image being filled, RGB, W x H */
static const int16_t *grad;   /* cached image gradients, 6 per ext pixel: gx r,g,b, gy r,g,b */
static const uint32_t *known; /* bit per ext pixel, NW words per ext row: not INSIDE */
static const float *dst;      /* 1/|r|^3 per disc pixel, rows top to bottom */
static const int32_t *half;   /* per disc row: the disc spans columns -half..half */
static double *acc;           /* out: Ia r,g,b, Jx r,g,b, Jy r,g,b, s */

__attribute__((export_name("setup")))
void setup(int w, int ew, int eh, int nw, int range, const float *t, const uint8_t *im, const int16_t *g,
           const uint32_t *k, const float *d, const int32_t *h, double *a) {
  W = w; EW = ew; EH = eh; NW = nw; R = range;
  T = t; img = im; grad = g; known = k; dst = d; half = h; acc = a;
}

/* sumDisc(g, i, j, Ti, gTx, gTy, acc) of inpaint-telea.ts. */
__attribute__((export_name("sum")))
void sum(int i, int j, double Ti, double gTx, double gTy) {
  double ia0 = 0, ia1 = 0, ia2 = 0, jx0 = 0, jx1 = 0, jx2 = 0, jy0 = 0, jy1 = 0, jy2 = 0, s = 1e-20;
  int rowStart = 0;
  for (int dy = -R; dy <= R; dy++) {
    const int h = half[dy + R];
    const double ry = -dy;
    const double ryT = ry * gTy;
    const int ki = i + dy;
    const int oLo = rowStart - (j - h);
    rowStart += 2 * h + 1;
    if (ki < 1 || ki > EH - 2) continue;
    const int cLo = j - h < 1 ? 1 : j - h;
    const int cHi = j + h > EW - 2 ? EW - 2 : j + h;
    const int bitsRow = ki * NW;
    const int eRow = ki * EW;
    const int pRow = ((ki - 1) * W - 1) * 3;
    for (int wi = cLo >> 5, wEnd = cHi >> 5; wi <= wEnd; wi++) {
      uint32_t bits = known[bitsRow + wi];
      if (wi == cLo >> 5) bits &= ~0u << (cLo & 31);
      if (wi == wEnd) bits &= ~0u >> (31 - (cHi & 31));
      const int base = wi << 5;
      while (bits != 0) {
        /* a run of known pixels: bits a .. b-1 of this word */
        const int a = __builtin_ctz(bits);
        const uint32_t zeros = ~bits & (~0u << a);
        const int b = zeros == 0 ? 32 : __builtin_ctz(zeros);
        bits = b == 32 ? 0 : bits & (~0u << b);
        const int c0 = base + a;
        int rx = j - c0;
        int o = oLo + c0;
        int p = pRow + 3 * c0;
        for (int k = eRow + c0, kEnd = eRow + base + b; k < kEnd; k++, o++, p += 3, rx--) {
          const double lev = 1 / (1 + __builtin_fabs((double)T[k] - Ti));
          double dir = __builtin_fabs(rx * gTx + ryT);
          if (dir <= 0.01) dir = (double)1e-6f; /* TINY_DIR: float 1e-6 */
          const double w = (double)dst[o] * lev * dir;
          const int q = k * 6;
          const double wx = w * rx;
          const double wy = w * ry;
          ia0 += w * img[p];
          ia1 += w * img[p + 1];
          ia2 += w * img[p + 2];
          jx0 -= wx * grad[q];
          jx1 -= wx * grad[q + 1];
          jx2 -= wx * grad[q + 2];
          jy0 -= wy * grad[q + 3];
          jy1 -= wy * grad[q + 4];
          jy2 -= wy * grad[q + 5];
          s = s + w;
        }
      }
    }
  }
  acc[0] = ia0; acc[1] = ia1; acc[2] = ia2;
  acc[3] = jx0; acc[4] = jx1; acc[5] = jx2;
  acc[6] = jy0; acc[7] = jy1; acc[8] = jy2;
  acc[9] = s;
}
