;; WebAssembly SIMD loops for stages/lib/tf-kernels, run on tfjs-backend-wasm's
;; own heap: the module imports that memory and owns none, so every pointer
;; below is a byte offset of a tensor (or scratch tensor) the backend
;; allocated, and nothing is copied in or out. The JavaScript versions of the
;; same loops (group-norm-loops.ts, filter-grad-loops.ts) stay as the CPU
;; backend's kernels; the tests hold both to tfjs's own results.
;;
;; Built by `npm run build:wasm` (scripts/build-wasm.mjs, wabt from npm) into
;; kernels-wasm.ts; test/stages/tf-kernels-simd.test.ts checks that the
;; committed build is this file's.
;;
;; Conventions: float32 data, channels last, the channel count `c` a multiple
;; of 4 (callers check and fall back to JavaScript otherwise). Sums over many
;; pixels accumulate in float32 lanes for at most CHUNK (64) rows, then are
;; added into float64 totals ($fold), so a sum over 32,768 pixels loses no
;; more than one over 64, and the order of additions is fixed (deterministic).
(module
  (import "env" "memory" (memory 1))

  ;; f64 a64[i] += f32 a32[i]; a32[i] = 0, for i < n (n a multiple of 4).
  (func $fold (param $a32 i32) (param $a64 i32) (param $n i32)
    (local $end i32) (local $v v128)
    (local.set $end (i32.add (local.get $a32) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $a32) (local.get $end)))
        (local.set $v (v128.load (local.get $a32)))
        (v128.store (local.get $a64)
          (f64x2.add (v128.load (local.get $a64)) (f64x2.promote_low_f32x4 (local.get $v))))
        (v128.store offset=16 (local.get $a64)
          (f64x2.add (v128.load offset=16 (local.get $a64))
            (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (v128.store (local.get $a32) (v128.const i32x4 0 0 0 0))
        (local.set $a32 (i32.add (local.get $a32) (i32.const 16)))
        (local.set $a64 (i32.add (local.get $a64) (i32.const 32)))
        (br $next))))

  ;; f64 a64[0..3] += the 4 float32 lanes of v.
  (func $addPromoted (param $a64 i32) (param $v v128)
    (v128.store (local.get $a64) (f64x2.add (v128.load (local.get $a64)) (f64x2.promote_low_f32x4 (local.get $v))))
    (v128.store offset=16 (local.get $a64)
      (f64x2.add (v128.load offset=16 (local.get $a64))
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))))

  ;; The gradient of an activation from its output y, over `rows` rows of c
  ;; channels: dz = dy * act'(z) (act 1 relu: y > 0; act 2 relu6: 0 < y < 6),
  ;; written to dz, and per channel sums of dz added into a64 (c doubles; a32
  ;; is c zeroed floats of scratch). act 0 (linear): dz = dy, only the sums
  ;; are computed and dz is not written.
  (func (export "act_grad")
    (param $y i32) (param $dy i32) (param $dz i32) (param $a32 i32) (param $a64 i32)
    (param $rows i32) (param $c i32) (param $act i32)
    (local $row i32) (local $k i32) (local $cb i32) (local $v v128) (local $m v128) (local $d v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $k (i32.const 0))
        (loop $ch
          (local.set $d (v128.load (i32.add (local.get $dy) (local.get $k))))
          (if (local.get $act)
            (then
              (local.set $v (v128.load (i32.add (local.get $y) (local.get $k))))
              (local.set $m (f32x4.gt (local.get $v) (v128.const f32x4 0 0 0 0)))
              (if (i32.eq (local.get $act) (i32.const 2))
                (then (local.set $m (v128.and (local.get $m) (f32x4.lt (local.get $v) (v128.const f32x4 6 6 6 6))))))
              (local.set $d (v128.and (local.get $d) (local.get $m)))
              (v128.store (i32.add (local.get $dz) (local.get $k)) (local.get $d))))
          (v128.store (i32.add (local.get $a32) (local.get $k))
            (f32x4.add (v128.load (i32.add (local.get $a32) (local.get $k))) (local.get $d)))
          (br_if $ch (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $cb))))
        (local.set $y (i32.add (local.get $y) (local.get $cb)))
        (local.set $dy (i32.add (local.get $dy) (local.get $cb)))
        (local.set $dz (i32.add (local.get $dz) (local.get $cb)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $row) (i32.const 63)))
          (then (call $fold (local.get $a32) (local.get $a64) (local.get $c))))
        (br $rowLoop)))
    (call $fold (local.get $a32) (local.get $a64) (local.get $c)))

  ;; Per channel sum and sum of squares of x [pixels, c], added into a64
  ;; ([sum c | sumsq c] doubles; a32 is 2c zeroed floats of scratch).
  (func (export "gn_sums") (param $x i32) (param $a32 i32) (param $a64 i32) (param $pixels i32) (param $c i32)
    (local $p i32) (local $k i32) (local $cb i32) (local $v v128) (local $s i32) (local $q i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $done
      (loop $px
        (br_if $done (i32.ge_u (local.get $p) (local.get $pixels)))
        (local.set $k (i32.const 0))
        (loop $ch
          (local.set $v (v128.load (i32.add (local.get $x) (local.get $k))))
          (local.set $s (i32.add (local.get $a32) (local.get $k)))
          (local.set $q (i32.add (local.get $s) (local.get $cb)))
          (v128.store (local.get $s) (f32x4.add (v128.load (local.get $s)) (local.get $v)))
          (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (f32x4.mul (local.get $v) (local.get $v))))
          (br_if $ch (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $cb))))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $p) (i32.const 63)))
          (then (call $fold (local.get $a32) (local.get $a64) (i32.shl (local.get $c) (i32.const 1)))))
        (br $px)))
    (call $fold (local.get $a32) (local.get $a64) (i32.shl (local.get $c) (i32.const 1))))

  ;; y = act(scale * x + shift) per channel over [pixels, c]; act 0 linear, 1 relu, 2 relu6.
  (func (export "affine_act")
    (param $x i32) (param $scale i32) (param $shift i32) (param $y i32) (param $pixels i32) (param $c i32) (param $act i32)
    (local $end i32) (local $k i32) (local $cb i32) (local $z v128) (local $hi v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $pixels) (local.get $cb))))
    ;; relu clamps above at +inf, relu6 at 6; linear skips the clamp.
    (local.set $hi (select (v128.const f32x4 6 6 6 6) (v128.const f32x4 inf inf inf inf) (i32.eq (local.get $act) (i32.const 2))))
    (block $done
      (loop $px
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $k (i32.const 0))
        (loop $ch
          (local.set $z
            (f32x4.add
              (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $k))) (v128.load (i32.add (local.get $scale) (local.get $k))))
              (v128.load (i32.add (local.get $shift) (local.get $k)))))
          (if (local.get $act)
            (then (local.set $z (f32x4.pmin (f32x4.pmax (v128.const f32x4 0 0 0 0) (local.get $z)) (local.get $hi)))))
          (v128.store (i32.add (local.get $y) (local.get $k)) (local.get $z))
          (br_if $ch (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $cb))))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $y (i32.add (local.get $y) (local.get $cb)))
        (br $px))))

  ;; Group norm backward, pass 1, over one image [pixels, c]: dz = dy * act'(scale * x + shift)
  ;; (relu: z > 0; relu6: 0 < z <= 6, as tfjs), written to dz; per channel sums of dz and of
  ;; dz * x added into a64 ([sum dz c | sum dz x c] doubles; a32: 2c zeroed floats).
  (func (export "gn_back1")
    (param $x i32) (param $dy i32) (param $dz i32) (param $scale i32) (param $shift i32)
    (param $a32 i32) (param $a64 i32) (param $pixels i32) (param $c i32) (param $act i32)
    (local $p i32) (local $k i32) (local $cb i32) (local $v v128) (local $z v128) (local $d v128) (local $s i32) (local $q i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (block $done
      (loop $px
        (br_if $done (i32.ge_u (local.get $p) (local.get $pixels)))
        (local.set $k (i32.const 0))
        (loop $ch
          (local.set $v (v128.load (i32.add (local.get $x) (local.get $k))))
          (local.set $d (v128.load (i32.add (local.get $dy) (local.get $k))))
          (if (local.get $act)
            (then
              (local.set $z
                (f32x4.add
                  (f32x4.mul (local.get $v) (v128.load (i32.add (local.get $scale) (local.get $k))))
                  (v128.load (i32.add (local.get $shift) (local.get $k)))))
              (local.set $d (v128.and (local.get $d) (f32x4.gt (local.get $z) (v128.const f32x4 0 0 0 0))))
              (if (i32.eq (local.get $act) (i32.const 2))
                (then (local.set $d (v128.and (local.get $d) (f32x4.le (local.get $z) (v128.const f32x4 6 6 6 6))))))))
          (v128.store (i32.add (local.get $dz) (local.get $k)) (local.get $d))
          (local.set $s (i32.add (local.get $a32) (local.get $k)))
          (local.set $q (i32.add (local.get $s) (local.get $cb)))
          (v128.store (local.get $s) (f32x4.add (v128.load (local.get $s)) (local.get $d)))
          (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (f32x4.mul (local.get $d) (local.get $v))))
          (br_if $ch (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $cb))))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $dy (i32.add (local.get $dy) (local.get $cb)))
        (local.set $dz (i32.add (local.get $dz) (local.get $cb)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $p) (i32.const 63)))
          (then (call $fold (local.get $a32) (local.get $a64) (i32.shl (local.get $c) (i32.const 1)))))
        (br $px)))
    (call $fold (local.get $a32) (local.get $a64) (i32.shl (local.get $c) (i32.const 1))))

  ;; out = p * dz + q * x + r per channel over [pixels, c] (out may be dz).
  (func (export "affine3")
    (param $dz i32) (param $x i32) (param $p i32) (param $q i32) (param $r i32) (param $out i32) (param $pixels i32) (param $c i32)
    (local $end i32) (local $k i32) (local $cb i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $pixels) (local.get $cb))))
    (block $done
      (loop $px
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $k (i32.const 0))
        (loop $ch
          (v128.store (i32.add (local.get $out) (local.get $k))
            (f32x4.add
              (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $k))) (v128.load (i32.add (local.get $dz) (local.get $k))))
                (f32x4.mul (v128.load (i32.add (local.get $q) (local.get $k))) (v128.load (i32.add (local.get $x) (local.get $k)))))
              (v128.load (i32.add (local.get $r) (local.get $k)))))
          (br_if $ch (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $cb))))
        (local.set $x (i32.add (local.get $x) (local.get $cb)))
        (local.set $dz (i32.add (local.get $dz) (local.get $cb)))
        (local.set $out (i32.add (local.get $out) (local.get $cb)))
        (br $px))))

  ;; Depthwise filter gradient, multiplier 1: dW[i, j, ch] = sum over images and output pixels
  ;; of x[b, oy*sh + i*dh - top, ox*sw + j*dw - left, ch] * dy[b, oy, ox, ch] (taps outside x
  ;; read zero; dh, dw the dilation), added into a64 (kh*kw*c doubles; a32: as many zeroed floats).
  (func (export "dw_filter_grad")
    (param $x i32) (param $dy i32) (param $a32 i32) (param $a64 i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $ho i32) (param $wo i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (param $dh i32) (param $dw i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $i i32) (local $j i32) (local $iy i32) (local $ix i32)
    (local $k i32) (local $cb i32) (local $xp i32) (local $ap i32) (local $d i32) (local $count i32) (local $taps i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $taps (i32.mul (i32.mul (local.get $kh) (local.get $kw)) (local.get $c)))
    (local.set $d (local.get $dy))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $oy (i32.const 0))
      (block $yDone (loop $yLoop
        (br_if $yDone (i32.ge_u (local.get $oy) (local.get $ho)))
        (local.set $ox (i32.const 0))
        (block $xDone (loop $xLoop
          (br_if $xDone (i32.ge_u (local.get $ox) (local.get $wo)))
          (local.set $i (i32.const 0))
          (block $iDone (loop $iLoop
            (br_if $iDone (i32.ge_u (local.get $i) (local.get $kh)))
            (local.set $iy (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $sh)) (i32.mul (local.get $i) (local.get $dh))) (local.get $top)))
            (if (i32.lt_u (local.get $iy) (local.get $h)) ;; unsigned: also rejects iy < 0
              (then
                (local.set $j (i32.const 0))
                (block $jDone (loop $jLoop
                  (br_if $jDone (i32.ge_u (local.get $j) (local.get $kw)))
                  (local.set $ix (i32.sub (i32.add (i32.mul (local.get $ox) (local.get $sw)) (i32.mul (local.get $j) (local.get $dw))) (local.get $left)))
                  (if (i32.lt_u (local.get $ix) (local.get $w))
                    (then
                      (local.set $xp (i32.add (local.get $x)
                        (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $iy)) (local.get $w)) (local.get $ix)) (local.get $cb))))
                      (local.set $ap (i32.add (local.get $a32) (i32.mul (i32.add (i32.mul (local.get $i) (local.get $kw)) (local.get $j)) (local.get $cb))))
                      (local.set $k (i32.const 0))
                      (loop $ch
                        (v128.store (i32.add (local.get $ap) (local.get $k))
                          (f32x4.add (v128.load (i32.add (local.get $ap) (local.get $k)))
                            (f32x4.mul (v128.load (i32.add (local.get $xp) (local.get $k))) (v128.load (i32.add (local.get $d) (local.get $k))))))
                        (br_if $ch (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $cb))))))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br $jLoop)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $iLoop)))
          (local.set $d (i32.add (local.get $d) (local.get $cb)))
          (local.set $count (i32.add (local.get $count) (i32.const 1)))
          (if (i32.eqz (i32.and (local.get $count) (i32.const 63)))
            (then (call $fold (local.get $a32) (local.get $a64) (local.get $taps))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $xLoop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop)))
    (call $fold (local.get $a32) (local.get $a64) (local.get $taps)))

  ;; Regular convolution filter gradient, dilation 1: dW[i, j, ci, co] = sum over images and
  ;; output pixels of x[b, oy*sh + i - top, ox*sw + j - left, ci] * dy[b, oy, ox, co], one rank-1
  ;; update of a [cin, cout] slab per tap and pixel, skipping zero inputs (ReLU outputs are about
  ;; half zeros); added into a64 (kh*kw*cin*cout doubles; a32: as many zeroed floats). cout a
  ;; multiple of 4; meant for slabs that stay in cache (callers use XNNPACK for large ones).
  (func (export "conv_filter_grad")
    (param $x i32) (param $dy i32) (param $a32 i32) (param $a64 i32)
    (param $n i32) (param $h i32) (param $w i32) (param $ci i32) (param $ho i32) (param $wo i32) (param $co i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $i i32) (local $j i32) (local $iy i32) (local $ix i32)
    (local $c i32) (local $k i32) (local $cob i32) (local $xp i32) (local $ap i32) (local $d i32) (local $count i32)
    (local $size i32) (local $a f32) (local $av v128)
    (local.set $cob (i32.shl (local.get $co) (i32.const 2)))
    (local.set $size (i32.mul (i32.mul (i32.mul (local.get $kh) (local.get $kw)) (local.get $ci)) (local.get $co)))
    (local.set $d (local.get $dy))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $oy (i32.const 0))
      (block $yDone (loop $yLoop
        (br_if $yDone (i32.ge_u (local.get $oy) (local.get $ho)))
        (local.set $ox (i32.const 0))
        (block $xDone (loop $xLoop
          (br_if $xDone (i32.ge_u (local.get $ox) (local.get $wo)))
          (local.set $i (i32.const 0))
          (block $iDone (loop $iLoop
            (br_if $iDone (i32.ge_u (local.get $i) (local.get $kh)))
            (local.set $iy (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $sh)) (local.get $i)) (local.get $top)))
            (if (i32.lt_u (local.get $iy) (local.get $h))
              (then
                (local.set $j (i32.const 0))
                (block $jDone (loop $jLoop
                  (br_if $jDone (i32.ge_u (local.get $j) (local.get $kw)))
                  (local.set $ix (i32.sub (i32.add (i32.mul (local.get $ox) (local.get $sw)) (local.get $j)) (local.get $left)))
                  (if (i32.lt_u (local.get $ix) (local.get $w))
                    (then
                      (local.set $xp (i32.add (local.get $x)
                        (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $iy)) (local.get $w)) (local.get $ix)) (local.get $ci)) (i32.const 2))))
                      (local.set $ap (i32.add (local.get $a32)
                        (i32.mul (i32.mul (i32.add (i32.mul (local.get $i) (local.get $kw)) (local.get $j)) (local.get $ci)) (local.get $cob))))
                      (local.set $c (i32.const 0))
                      (block $cDone (loop $cLoop
                        (br_if $cDone (i32.ge_u (local.get $c) (local.get $ci)))
                        (local.set $a (f32.load (i32.add (local.get $xp) (i32.shl (local.get $c) (i32.const 2)))))
                        (if (f32.ne (local.get $a) (f32.const 0))
                          (then
                            (local.set $av (f32x4.splat (local.get $a)))
                            (local.set $k (i32.const 0))
                            (loop $ch
                              (v128.store (i32.add (local.get $ap) (local.get $k))
                                (f32x4.add (v128.load (i32.add (local.get $ap) (local.get $k)))
                                  (f32x4.mul (local.get $av) (v128.load (i32.add (local.get $d) (local.get $k))))))
                              (br_if $ch (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $cob))))))
                        (local.set $ap (i32.add (local.get $ap) (local.get $cob)))
                        (local.set $c (i32.add (local.get $c) (i32.const 1)))
                        (br $cLoop)))))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br $jLoop)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $iLoop)))
          (local.set $d (i32.add (local.get $d) (local.get $cob)))
          (local.set $count (i32.add (local.get $count) (i32.const 1)))
          (if (i32.eqz (i32.and (local.get $count) (i32.const 63)))
            (then (call $fold (local.get $a32) (local.get $a64) (local.get $size))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $xLoop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop)))
    (call $fold (local.get $a32) (local.get $a64) (local.get $size)))

  ;; SGD with momentum, TensorFlow's form, as tfjs's ops compute it (each product and sum
  ;; rounded to float32, so the result is the same to the bit): g' = g + w * wd (when decay),
  ;; acc' = acc * momentum + g', w' = w - acc' * rate, over n values (any n).
  (func (export "sgd_momentum")
    (param $w i32) (param $acc i32) (param $g i32) (param $wOut i32) (param $accOut i32) (param $n i32)
    (param $momentum f32) (param $wd f32) (param $rate f32) (param $decay i32)
    (local $i i32) (local $n4 i32) (local $m v128) (local $d v128) (local $r v128) (local $gv v128) (local $a v128) (local $wv v128)
    (local $gs f32) (local $as f32) (local $ws f32)
    (local.set $m (f32x4.splat (local.get $momentum)))
    (local.set $d (f32x4.splat (local.get $wd)))
    (local.set $r (f32x4.splat (local.get $rate)))
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $wv (v128.load (i32.add (local.get $w) (local.get $i))))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
        (if (local.get $decay) (then (local.set $gv (f32x4.add (local.get $gv) (f32x4.mul (local.get $wv) (local.get $d))))))
        (local.set $a (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $acc) (local.get $i))) (local.get $m)) (local.get $gv)))
        (v128.store (i32.add (local.get $accOut) (local.get $i)) (local.get $a))
        (v128.store (i32.add (local.get $wOut) (local.get $i)) (f32x4.sub (local.get $wv) (f32x4.mul (local.get $a) (local.get $r))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next)))
    (local.set $n4 (i32.shl (local.get $n) (i32.const 2)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $ws (f32.load (i32.add (local.get $w) (local.get $i))))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
        (if (local.get $decay) (then (local.set $gs (f32.add (local.get $gs) (f32.mul (local.get $ws) (local.get $wd))))))
        (local.set $as (f32.add (f32.mul (f32.load (i32.add (local.get $acc) (local.get $i))) (local.get $momentum)) (local.get $gs)))
        (f32.store (i32.add (local.get $accOut) (local.get $i)) (local.get $as))
        (f32.store (i32.add (local.get $wOut) (local.get $i)) (f32.sub (local.get $ws) (f32.mul (local.get $as) (local.get $rate))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; Adam, as tfjs's ops compute it (each operation rounded to float32, no fused multiply-add,
  ;; so the result is the same to the bit as adam.ts's JavaScript loop): g' = g + w * wd (when
  ;; decay), m' = m b1 + g' ob1, v' = v b2 + g'^2 ob2, w' = w - (m' step) / (sqrt(v') + eps),
  ;; over n values (any n). ob1 = 1 - b1 and ob2 = 1 - b2 come rounded from the caller, as tfjs
  ;; rounds its scalars. Memory-bound: seven streams of n floats.
  (func (export "adam")
    (param $w i32) (param $m i32) (param $v i32) (param $g i32) (param $wOut i32) (param $mOut i32) (param $vOut i32) (param $n i32)
    (param $b1 f32) (param $ob1 f32) (param $b2 f32) (param $ob2 f32) (param $eps f32) (param $wd f32) (param $step f32) (param $decay i32)
    (local $i i32) (local $n4 i32)
    (local $B1 v128) (local $OB1 v128) (local $B2 v128) (local $OB2 v128) (local $E v128) (local $D v128) (local $S v128)
    (local $wv v128) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $ws f32) (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $B1 (f32x4.splat (local.get $b1)))
    (local.set $OB1 (f32x4.splat (local.get $ob1)))
    (local.set $B2 (f32x4.splat (local.get $b2)))
    (local.set $OB2 (f32x4.splat (local.get $ob2)))
    (local.set $E (f32x4.splat (local.get $eps)))
    (local.set $D (f32x4.splat (local.get $wd)))
    (local.set $S (f32x4.splat (local.get $step)))
    (local.set $n4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $wv (v128.load (i32.add (local.get $w) (local.get $i))))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $i))))
        (if (local.get $decay) (then (local.set $gv (f32x4.add (local.get $gv) (f32x4.mul (local.get $wv) (local.get $D))))))
        (local.set $mv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $B1))
                                  (f32x4.mul (local.get $gv) (local.get $OB1))))
        (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $B2))
                                  (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $OB2))))
        (v128.store (i32.add (local.get $mOut) (local.get $i)) (local.get $mv))
        (v128.store (i32.add (local.get $vOut) (local.get $i)) (local.get $vv))
        (v128.store (i32.add (local.get $wOut) (local.get $i))
          (f32x4.sub (local.get $wv)
            (f32x4.div (f32x4.mul (local.get $mv) (local.get $S)) (f32x4.add (f32x4.sqrt (local.get $vv)) (local.get $E)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next)))
    (local.set $n4 (i32.shl (local.get $n) (i32.const 2)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $n4)))
        (local.set $ws (f32.load (i32.add (local.get $w) (local.get $i))))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $i))))
        (if (local.get $decay) (then (local.set $gs (f32.add (local.get $gs) (f32.mul (local.get $ws) (local.get $wd))))))
        (local.set $ms (f32.add (f32.mul (f32.load (i32.add (local.get $m) (local.get $i))) (local.get $b1))
                                (f32.mul (local.get $gs) (local.get $ob1))))
        (local.set $vs (f32.add (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (local.get $b2))
                                (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $ob2))))
        (f32.store (i32.add (local.get $mOut) (local.get $i)) (local.get $ms))
        (f32.store (i32.add (local.get $vOut) (local.get $i)) (local.get $vs))
        (f32.store (i32.add (local.get $wOut) (local.get $i))
          (f32.sub (local.get $ws)
            (f32.div (f32.mul (local.get $ms) (local.get $step)) (f32.add (f32.sqrt (local.get $vs)) (local.get $eps)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; Copies `rows` rows of `bytes` bytes from src (rows srcStride bytes apart) to dst (dstStride
  ;; apart): concatenation and splitting along the channel axis, any dtype.
  (func (export "copy_rows")
    (param $src i32) (param $srcStride i32) (param $dst i32) (param $dstStride i32) (param $rows i32) (param $bytes i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $rows)))
        (memory.copy (local.get $dst) (local.get $src) (local.get $bytes))
        (local.set $src (i32.add (local.get $src) (local.get $srcStride)))
        (local.set $dst (i32.add (local.get $dst) (local.get $dstStride)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $next))))

  ;; Packs a [k][n] row-major matrix (a 1x1 filter [1,1,k,n]) into panels of 8 columns,
  ;; bp[p][kk][0..7] = b[kk][8p..8p+7], for gemm_bias_act (n a multiple of 8).
  (func (export "pack_panels") (param $b i32) (param $bp i32) (param $k i32) (param $n i32)
    (local $p i32) (local $src i32) (local $kk i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $panel
        (br_if $done (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $src (i32.add (local.get $b) (i32.shl (local.get $p) (i32.const 2))))
        (local.set $kk (local.get $k))
        (block $kdone
          (loop $row
            (br_if $kdone (i32.eqz (local.get $kk)))
            (v128.store (local.get $bp) (v128.load (local.get $src)))
            (v128.store offset=16 (local.get $bp) (v128.load offset=16 (local.get $src)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
            (local.set $src (i32.add (local.get $src) (local.get $rowBytes)))
            (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
            (br $row)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $panel))))

  ;; The same panels from the transpose of a row-major [n][k] matrix: bp[p][kk][j] = w[8p+j][kk]
  ;; (a 1x1 filter [1,1,n,k] used as its transpose: the input gradient dx = dy . w^T of a 1x1
  ;; layer), so that product needs no Transpose kernel first. n a multiple of 8.
  (func (export "pack_panels_t") (param $w i32) (param $bp i32) (param $k i32) (param $n i32)
    (local $p i32) (local $src i32) (local $kk i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $k) (i32.const 2)))
    (block $done
      (loop $panel
        (br_if $done (i32.ge_u (local.get $p) (local.get $n)))
        ;; src walks column kk of rows 8p .. 8p+7.
        (local.set $src (i32.add (local.get $w) (i32.mul (local.get $p) (local.get $rowBytes))))
        (local.set $kk (local.get $k))
        (block $kdone
          (loop $col
            (br_if $kdone (i32.eqz (local.get $kk)))
            (f32.store (local.get $bp) (f32.load (local.get $src)))
            (f32.store offset=4 (local.get $bp) (f32.load (i32.add (local.get $src) (local.get $rowBytes))))
            (f32.store offset=8 (local.get $bp) (f32.load (i32.add (local.get $src) (i32.mul (local.get $rowBytes) (i32.const 2)))))
            (f32.store offset=12 (local.get $bp) (f32.load (i32.add (local.get $src) (i32.mul (local.get $rowBytes) (i32.const 3)))))
            (f32.store offset=16 (local.get $bp) (f32.load (i32.add (local.get $src) (i32.mul (local.get $rowBytes) (i32.const 4)))))
            (f32.store offset=20 (local.get $bp) (f32.load (i32.add (local.get $src) (i32.mul (local.get $rowBytes) (i32.const 5)))))
            (f32.store offset=24 (local.get $bp) (f32.load (i32.add (local.get $src) (i32.mul (local.get $rowBytes) (i32.const 6)))))
            (f32.store offset=28 (local.get $bp) (f32.load (i32.add (local.get $src) (i32.mul (local.get $rowBytes) (i32.const 7)))))
            (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
            (br $col)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $panel))))

  ;; c[m][n] = min(max(a[m][k] . b[k][n] + bias[n], lo), hi): a 1x1 convolution, stride 1,
  ;; channels last (a: m pixels of k channels; c: m pixels of n channels), with b packed by
  ;; pack_panels (n a multiple of 8), bias 0 for none, lo / hi the activation's clamp
  ;; (-inf / inf for linear; NaN passes through). Register tiles of 4 pixels x 8 channels
  ;; (8 accumulators, 4 broadcast inputs, 2 filter vectors: 14 of x64's 16 SIMD
  ;; registers), sums in k order from the bias: deterministic. Leftover pixels one at a time.
  (func (export "gemm_bias_act")
    (param $a i32) (param $bp i32) (param $bias i32) (param $c i32) (param $m i32) (param $k i32) (param $n i32)
    (param $lo f32) (param $hi f32)
    (local $r i32) (local $p i32) (local $pa i32) (local $pb i32) (local $pc i32) (local $kk i32)
    (local $ks i32) (local $ks2 i32) (local $ks3 i32) (local $ns i32)
    (local $vlo v128) (local $vhi v128) (local $z0 v128) (local $z1 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $ks (i32.shl (local.get $k) (i32.const 2)))
    (local.set $ks2 (i32.shl (local.get $k) (i32.const 3)))
    (local.set $ks3 (i32.mul (local.get $k) (i32.const 12)))
    (local.set $ns (i32.shl (local.get $n) (i32.const 2)))
    ;; Blocks of 4 pixels.
    (block $rdone
      (loop $rows
        (br_if $rdone (i32.gt_u (i32.add (local.get $r) (i32.const 4)) (local.get $m)))
        (local.set $p (i32.const 0))
        (block $pdone
          (loop $panels
            (br_if $pdone (i32.ge_u (local.get $p) (local.get $n)))
            (if (local.get $bias)
              (then
                (local.set $z0 (v128.load (i32.add (local.get $bias) (i32.shl (local.get $p) (i32.const 2)))))
                (local.set $z1 (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $p) (i32.const 2))))))
              (else
                (local.set $z0 (v128.const i32x4 0 0 0 0))
                (local.set $z1 (v128.const i32x4 0 0 0 0))))
            (local.set $c00 (local.get $z0)) (local.set $c01 (local.get $z1))
            (local.set $c10 (local.get $z0)) (local.set $c11 (local.get $z1))
            (local.set $c20 (local.get $z0)) (local.set $c21 (local.get $z1))
            (local.set $c30 (local.get $z0)) (local.set $c31 (local.get $z1))
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $ks))))
            (local.set $pb (i32.add (local.get $bp) (i32.mul (local.get $p) (local.get $ks))))
            (local.set $kk (local.get $k))
            (block $kdone
              (loop $kl
                (br_if $kdone (i32.eqz (local.get $kk)))
                (local.set $a0 (v128.load32_splat (local.get $pa)))
                (local.set $a1 (v128.load32_splat (i32.add (local.get $pa) (local.get $ks))))
                (local.set $a2 (v128.load32_splat (i32.add (local.get $pa) (local.get $ks2))))
                (local.set $a3 (v128.load32_splat (i32.add (local.get $pa) (local.get $ks3))))
                (local.set $b0 (v128.load (local.get $pb)))
                (local.set $b1 (v128.load offset=16 (local.get $pb)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a0) (local.get $b0))))
                (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a0) (local.get $b1))))
                (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a1) (local.get $b0))))
                (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a1) (local.get $b1))))
                (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a2) (local.get $b0))))
                (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a2) (local.get $b1))))
                (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a3) (local.get $b0))))
                (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a3) (local.get $b1))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
                (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
                (br $kl)))
            (local.set $pc (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $n)) (local.get $p)) (i32.const 2))))
            (v128.store (local.get $pc) (f32x4.pmin (f32x4.pmax (local.get $c00) (local.get $vlo)) (local.get $vhi)))
            (v128.store offset=16 (local.get $pc) (f32x4.pmin (f32x4.pmax (local.get $c01) (local.get $vlo)) (local.get $vhi)))
            (local.set $pc (i32.add (local.get $pc) (local.get $ns)))
            (v128.store (local.get $pc) (f32x4.pmin (f32x4.pmax (local.get $c10) (local.get $vlo)) (local.get $vhi)))
            (v128.store offset=16 (local.get $pc) (f32x4.pmin (f32x4.pmax (local.get $c11) (local.get $vlo)) (local.get $vhi)))
            (local.set $pc (i32.add (local.get $pc) (local.get $ns)))
            (v128.store (local.get $pc) (f32x4.pmin (f32x4.pmax (local.get $c20) (local.get $vlo)) (local.get $vhi)))
            (v128.store offset=16 (local.get $pc) (f32x4.pmin (f32x4.pmax (local.get $c21) (local.get $vlo)) (local.get $vhi)))
            (local.set $pc (i32.add (local.get $pc) (local.get $ns)))
            (v128.store (local.get $pc) (f32x4.pmin (f32x4.pmax (local.get $c30) (local.get $vlo)) (local.get $vhi)))
            (v128.store offset=16 (local.get $pc) (f32x4.pmin (f32x4.pmax (local.get $c31) (local.get $vlo)) (local.get $vhi)))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (br $panels)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rows)))
    ;; Leftover pixels (m not a multiple of 4), one at a time, same order of sums.
    (block $tdone
      (loop $tail
        (br_if $tdone (i32.ge_u (local.get $r) (local.get $m)))
        (local.set $p (i32.const 0))
        (block $pdone2
          (loop $panels2
            (br_if $pdone2 (i32.ge_u (local.get $p) (local.get $n)))
            (if (local.get $bias)
              (then
                (local.set $c00 (v128.load (i32.add (local.get $bias) (i32.shl (local.get $p) (i32.const 2)))))
                (local.set $c01 (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $p) (i32.const 2))))))
              (else
                (local.set $c00 (v128.const i32x4 0 0 0 0))
                (local.set $c01 (v128.const i32x4 0 0 0 0))))
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $ks))))
            (local.set $pb (i32.add (local.get $bp) (i32.mul (local.get $p) (local.get $ks))))
            (local.set $kk (local.get $k))
            (block $kdone2
              (loop $kl2
                (br_if $kdone2 (i32.eqz (local.get $kk)))
                (local.set $a0 (v128.load32_splat (local.get $pa)))
                (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a0) (v128.load (local.get $pb)))))
                (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a0) (v128.load offset=16 (local.get $pb)))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
                (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
                (br $kl2)))
            (local.set $pc (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $n)) (local.get $p)) (i32.const 2))))
            (v128.store (local.get $pc) (f32x4.pmin (f32x4.pmax (local.get $c00) (local.get $vlo)) (local.get $vhi)))
            (v128.store offset=16 (local.get $pc) (f32x4.pmin (f32x4.pmax (local.get $c01) (local.get $vlo)) (local.get $vhi)))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (br $panels2)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $tail))))

  ;; Depthwise 3x3 convolution, channel multiplier 1, channels last, + bias, clamped to
  ;; [lo, hi] (the activation; -inf / inf for linear), at stride s and dilation d with the
  ;; padding top / left (x: n x h x w x c, filter: 3 x 3 x c, y: n x ho x wo x c; c a
  ;; multiple of 4; bias 0 for none). For each output row and 4 channels the 9 filter
  ;; vectors stay in registers while the row's pixels stream past; pixels whose 3x3 window
  ;; lies inside the image (columns [xlo, xhi) of rows whose three taps are inside) take
  ;; the unrolled path, the border ones test each tap. Sums start from the bias and add
  ;; taps in row-major order: deterministic.
  (func (export "dw3x3")
    (param $x i32) (param $wt i32) (param $bias i32) (param $y i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $ho i32) (param $wo i32) (param $s i32) (param $d i32) (param $top i32) (param $left i32)
    (param $xlo i32) (param $xhi i32) (param $lo f32) (param $hi f32)
    (local $b i32) (local $oy i32) (local $ox i32) (local $c4 i32) (local $iy0 i32) (local $iy i32) (local $ix i32)
    (local $ky i32) (local $kx i32) (local $full i32) (local $cb i32) (local $wp i32) (local $p i32) (local $q i32)
    (local $rs i32) (local $rs2 i32) (local $cs i32) (local $cs2 i32) (local $ps i32) (local $img i32) (local $orow i32)
    (local $vlo v128) (local $vhi v128) (local $bv v128) (local $acc v128)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128) (local $w4 v128) (local $w5 v128) (local $w6 v128) (local $w7 v128) (local $w8 v128)
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $cs (i32.mul (local.get $cb) (local.get $d)))
    (local.set $cs2 (i32.shl (local.get $cs) (i32.const 1)))
    (local.set $rs (i32.mul (i32.mul (local.get $w) (local.get $cb)) (local.get $d)))
    (local.set $rs2 (i32.shl (local.get $rs) (i32.const 1)))
    (local.set $ps (i32.mul (local.get $cb) (local.get $s)))
    (block $bdone (loop $images
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $img (i32.add (local.get $x) (i32.mul (i32.mul (i32.mul (local.get $b) (local.get $h)) (local.get $w)) (local.get $cb))))
      (local.set $oy (i32.const 0))
      (block $ydone (loop $rows
        (br_if $ydone (i32.ge_u (local.get $oy) (local.get $ho)))
        (local.set $iy0 (i32.sub (i32.mul (local.get $oy) (local.get $s)) (local.get $top)))
        (local.set $full (i32.and (i32.ge_s (local.get $iy0) (i32.const 0))
          (i32.lt_s (i32.add (local.get $iy0) (i32.shl (local.get $d) (i32.const 1))) (local.get $h))))
        (local.set $orow (i32.add (local.get $y)
          (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $ho)) (local.get $oy)) (local.get $wo)) (local.get $cb))))
        (local.set $c4 (i32.const 0))
        (block $cdone (loop $chunks
          (br_if $cdone (i32.ge_u (local.get $c4) (local.get $c)))
          (local.set $wp (i32.add (local.get $wt) (i32.shl (local.get $c4) (i32.const 2))))
          (local.set $bv (if (result v128) (local.get $bias)
            (then (v128.load (i32.add (local.get $bias) (i32.shl (local.get $c4) (i32.const 2)))))
            (else (v128.const i32x4 0 0 0 0))))
          (local.set $ox (i32.const 0))
          (block $xdone (loop $cols
            (br_if $xdone (i32.ge_u (local.get $ox) (local.get $wo)))
            (if (i32.and (local.get $full) (i32.and (i32.ge_s (local.get $ox) (local.get $xlo)) (i32.lt_s (local.get $ox) (local.get $xhi))))
              (then
                ;; Interior run [ox, xhi): filter in registers, no tests.
            (local.set $w0 (v128.load (i32.add (local.get $wp) (i32.mul (i32.const 0) (local.get $cb)))))
            (local.set $w1 (v128.load (i32.add (local.get $wp) (i32.mul (i32.const 1) (local.get $cb)))))
            (local.set $w2 (v128.load (i32.add (local.get $wp) (i32.mul (i32.const 2) (local.get $cb)))))
            (local.set $w3 (v128.load (i32.add (local.get $wp) (i32.mul (i32.const 3) (local.get $cb)))))
            (local.set $w4 (v128.load (i32.add (local.get $wp) (i32.mul (i32.const 4) (local.get $cb)))))
            (local.set $w5 (v128.load (i32.add (local.get $wp) (i32.mul (i32.const 5) (local.get $cb)))))
            (local.set $w6 (v128.load (i32.add (local.get $wp) (i32.mul (i32.const 6) (local.get $cb)))))
            (local.set $w7 (v128.load (i32.add (local.get $wp) (i32.mul (i32.const 7) (local.get $cb)))))
            (local.set $w8 (v128.load (i32.add (local.get $wp) (i32.mul (i32.const 8) (local.get $cb)))))
                (local.set $p (i32.add (i32.add (local.get $img)
                  (i32.mul (i32.add (i32.mul (local.get $iy0) (local.get $w)) (i32.sub (i32.mul (local.get $ox) (local.get $s)) (local.get $left))) (local.get $cb)))
                  (i32.shl (local.get $c4) (i32.const 2))))
                (local.set $q (i32.add (local.get $orow) (i32.add (i32.mul (local.get $ox) (local.get $cb)) (i32.shl (local.get $c4) (i32.const 2)))))
                (block $idone (loop $inner
                  (br_if $idone (i32.ge_s (local.get $ox) (local.get $xhi)))
                  (local.set $acc (local.get $bv))
                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (local.get $p)) (local.get $w0))))
                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $cs))) (local.get $w1))))
                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $cs2))) (local.get $w2))))
                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $rs))) (local.get $w3))))
                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (i32.add (local.get $p) (local.get $rs)) (local.get $cs))) (local.get $w4))))
                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (i32.add (local.get $p) (local.get $rs)) (local.get $cs2))) (local.get $w5))))
                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $rs2))) (local.get $w6))))
                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (i32.add (local.get $p) (local.get $rs2)) (local.get $cs))) (local.get $w7))))
                    (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (i32.add (i32.add (local.get $p) (local.get $rs2)) (local.get $cs2))) (local.get $w8))))
                  (v128.store (local.get $q) (f32x4.pmin (f32x4.pmax (local.get $acc) (local.get $vlo)) (local.get $vhi)))
                  (local.set $p (i32.add (local.get $p) (local.get $ps)))
                  (local.set $q (i32.add (local.get $q) (local.get $cb)))
                  (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                  (br $inner))))
              (else
                ;; A border pixel: each tap tested.
                (local.set $acc (local.get $bv))
                (local.set $ky (i32.const 0))
                (block $kydone (loop $kys
                  (br_if $kydone (i32.ge_u (local.get $ky) (i32.const 3)))
                  (local.set $iy (i32.add (local.get $iy0) (i32.mul (local.get $ky) (local.get $d))))
                  (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $h)))
                    (then
                      (local.set $kx (i32.const 0))
                      (block $kxdone (loop $kxs
                        (br_if $kxdone (i32.ge_u (local.get $kx) (i32.const 3)))
                        (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox) (local.get $s)) (local.get $left)) (i32.mul (local.get $kx) (local.get $d))))
                        (if (i32.and (i32.ge_s (local.get $ix) (i32.const 0)) (i32.lt_s (local.get $ix) (local.get $w)))
                          (then
                            (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
                              (v128.load (i32.add (i32.add (local.get $img)
                                (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $w)) (local.get $ix)) (local.get $cb)))
                                (i32.shl (local.get $c4) (i32.const 2))))
                              (v128.load (i32.add (local.get $wp)
                                (i32.mul (i32.add (i32.mul (local.get $ky) (i32.const 3)) (local.get $kx)) (local.get $cb)))))))))
                        (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
                        (br $kxs)))))
                  (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
                  (br $kys)))
                (v128.store (i32.add (local.get $orow) (i32.add (i32.mul (local.get $ox) (local.get $cb)) (i32.shl (local.get $c4) (i32.const 2))))
                  (f32x4.pmin (f32x4.pmax (local.get $acc) (local.get $vlo)) (local.get $vhi)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))))
            (br $cols)))
          (local.set $c4 (i32.add (local.get $c4) (i32.const 4)))
          (br $chunks)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $rows)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $images)))
  )

  ;; The filter gradient of a 1x1, stride-1 convolution: a64[c][o] += sum over pixels p of
  ;; x[p][c] * dy[p][o] (x: pixels x ci, dy: pixels x co, channels last; ci a multiple of 4,
  ;; co of 8; a64 ci x co doubles, zeroed by the caller). Tiles of 4 input x 8 output
  ;; channels sum 64 pixels at a time in float32 registers, then add into the float64
  ;; totals, as conv_filter_grad does (same order: deterministic, and as precise).
  (func (export "pw_filter_grad") (param $x i32) (param $dy i32) (param $a64 i32) (param $pixels i32) (param $ci i32) (param $co i32)
    (local $p0 i32) (local $len i32) (local $c0 i32) (local $o0 i32) (local $k i32) (local $xp i32) (local $dp i32)
    (local $xs i32) (local $ds i32) (local $rowb i32) (local $ap i32) (local $t i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $b0 v128) (local $b1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128) (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $xs (i32.shl (local.get $ci) (i32.const 2)))
    (local.set $ds (i32.shl (local.get $co) (i32.const 2)))
    (local.set $rowb (i32.shl (local.get $co) (i32.const 3)))
    (block $pdone (loop $blocks
      (br_if $pdone (i32.ge_u (local.get $p0) (local.get $pixels)))
      (local.set $len (i32.sub (local.get $pixels) (local.get $p0)))
      (if (i32.gt_u (local.get $len) (i32.const 64)) (then (local.set $len (i32.const 64))))
      (local.set $c0 (i32.const 0))
      (block $cdone (loop $cs
        (br_if $cdone (i32.ge_u (local.get $c0) (local.get $ci)))
        (local.set $o0 (i32.const 0))
        (block $odone (loop $os
          (br_if $odone (i32.ge_u (local.get $o0) (local.get $co)))
          (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0)) (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0)) (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0)) (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
          (local.set $xp (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (local.get $p0) (local.get $ci)) (local.get $c0)) (i32.const 2))))
          (local.set $dp (i32.add (local.get $dy) (i32.shl (i32.add (i32.mul (local.get $p0) (local.get $co)) (local.get $o0)) (i32.const 2))))
          (local.set $k (local.get $len))
          (loop $px
            (local.set $a0 (v128.load32_splat (local.get $xp)))
            (local.set $a1 (v128.load32_splat offset=4 (local.get $xp)))
            (local.set $a2 (v128.load32_splat offset=8 (local.get $xp)))
            (local.set $a3 (v128.load32_splat offset=12 (local.get $xp)))
            (local.set $b0 (v128.load (local.get $dp)))
            (local.set $b1 (v128.load offset=16 (local.get $dp)))
                  (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a0) (local.get $b0))))
                  (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a0) (local.get $b1))))
                  (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a1) (local.get $b0))))
                  (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a1) (local.get $b1))))
                  (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a2) (local.get $b0))))
                  (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a2) (local.get $b1))))
                  (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a3) (local.get $b0))))
                  (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a3) (local.get $b1))))
            (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
            (local.set $dp (i32.add (local.get $dp) (local.get $ds)))
            (br_if $px (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
          (local.set $ap (i32.add (local.get $a64) (i32.shl (i32.add (i32.mul (local.get $c0) (local.get $co)) (local.get $o0)) (i32.const 3))))
            (local.set $t (i32.add (local.get $ap) (i32.add (i32.mul (i32.const 0) (local.get $rowb)) (i32.const 0))))
            (v128.store (local.get $t) (f64x2.add (v128.load (local.get $t)) (f64x2.promote_low_f32x4 (local.get $c00))))
            (v128.store offset=16 (local.get $t) (f64x2.add (v128.load offset=16 (local.get $t))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $c00) (local.get $c00)))))
            (local.set $t (i32.add (local.get $ap) (i32.add (i32.mul (i32.const 0) (local.get $rowb)) (i32.const 32))))
            (v128.store (local.get $t) (f64x2.add (v128.load (local.get $t)) (f64x2.promote_low_f32x4 (local.get $c01))))
            (v128.store offset=16 (local.get $t) (f64x2.add (v128.load offset=16 (local.get $t))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $c01) (local.get $c01)))))
            (local.set $t (i32.add (local.get $ap) (i32.add (i32.mul (i32.const 1) (local.get $rowb)) (i32.const 0))))
            (v128.store (local.get $t) (f64x2.add (v128.load (local.get $t)) (f64x2.promote_low_f32x4 (local.get $c10))))
            (v128.store offset=16 (local.get $t) (f64x2.add (v128.load offset=16 (local.get $t))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $c10) (local.get $c10)))))
            (local.set $t (i32.add (local.get $ap) (i32.add (i32.mul (i32.const 1) (local.get $rowb)) (i32.const 32))))
            (v128.store (local.get $t) (f64x2.add (v128.load (local.get $t)) (f64x2.promote_low_f32x4 (local.get $c11))))
            (v128.store offset=16 (local.get $t) (f64x2.add (v128.load offset=16 (local.get $t))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $c11) (local.get $c11)))))
            (local.set $t (i32.add (local.get $ap) (i32.add (i32.mul (i32.const 2) (local.get $rowb)) (i32.const 0))))
            (v128.store (local.get $t) (f64x2.add (v128.load (local.get $t)) (f64x2.promote_low_f32x4 (local.get $c20))))
            (v128.store offset=16 (local.get $t) (f64x2.add (v128.load offset=16 (local.get $t))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $c20) (local.get $c20)))))
            (local.set $t (i32.add (local.get $ap) (i32.add (i32.mul (i32.const 2) (local.get $rowb)) (i32.const 32))))
            (v128.store (local.get $t) (f64x2.add (v128.load (local.get $t)) (f64x2.promote_low_f32x4 (local.get $c21))))
            (v128.store offset=16 (local.get $t) (f64x2.add (v128.load offset=16 (local.get $t))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $c21) (local.get $c21)))))
            (local.set $t (i32.add (local.get $ap) (i32.add (i32.mul (i32.const 3) (local.get $rowb)) (i32.const 0))))
            (v128.store (local.get $t) (f64x2.add (v128.load (local.get $t)) (f64x2.promote_low_f32x4 (local.get $c30))))
            (v128.store offset=16 (local.get $t) (f64x2.add (v128.load offset=16 (local.get $t))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $c30) (local.get $c30)))))
            (local.set $t (i32.add (local.get $ap) (i32.add (i32.mul (i32.const 3) (local.get $rowb)) (i32.const 32))))
            (v128.store (local.get $t) (f64x2.add (v128.load (local.get $t)) (f64x2.promote_low_f32x4 (local.get $c31))))
            (v128.store offset=16 (local.get $t) (f64x2.add (v128.load offset=16 (local.get $t))
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $c31) (local.get $c31)))))
          (local.set $o0 (i32.add (local.get $o0) (i32.const 8)))
          (br $os)))
        (local.set $c0 (i32.add (local.get $c0) (i32.const 4)))
        (br $cs)))
      (local.set $p0 (i32.add (local.get $p0) (i32.const 64)))
      (br $blocks)))
  )

  ;; The same depthwise 3x3 convolution as dw3x3 (same results: sums from the bias, taps
  ;; added in row-major order), tap by tap: y = bias, then for each of the 9 taps and each
  ;; output row it reaches, y[row, ox0 .. ox1) += x[...] * w[tap] over the columns whose tap
  ;; lies inside x (computed, not tested per pixel), then the clamp. For small maps and
  ;; large dilations, where most pixels touch the border and dw3x3's per-tap tests (and
  ;; XNNPACK's padded indirection) are slow: the output is read and written 9 times, which
  ;; stays in cache at these sizes.
  (func (export "dw3x3_taps")
    (param $x i32) (param $wt i32) (param $bias i32) (param $y i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $ho i32) (param $wo i32) (param $s i32) (param $d i32) (param $top i32) (param $left i32)
    (param $lo f32) (param $hi f32)
    (local $cb i32) (local $pixels i32) (local $p i32) (local $k i32) (local $i i32) (local $j i32) (local $b i32)
    (local $oy i32) (local $iy i32) (local $ox i32) (local $ox1 i32) (local $lower i32) (local $upper i32)
    (local $yp i32) (local $xp i32) (local $wp i32) (local $xs i32) (local $vlo v128) (local $vhi v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $pixels (i32.mul (i32.mul (local.get $n) (local.get $ho)) (local.get $wo)))
    (local.set $xs (i32.mul (local.get $cb) (local.get $s)))
    ;; y = bias (or 0).
    (local.set $yp (local.get $y))
    (local.set $p (i32.const 0))
    (block $initDone (loop $init
      (br_if $initDone (i32.ge_u (local.get $p) (local.get $pixels)))
      (local.set $k (i32.const 0))
      (loop $ch
        (v128.store (i32.add (local.get $yp) (local.get $k))
          (if (result v128) (local.get $bias)
            (then (v128.load (i32.add (local.get $bias) (local.get $k))))
            (else (v128.const i32x4 0 0 0 0))))
        (br_if $ch (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $cb))))
      (local.set $yp (i32.add (local.get $yp) (local.get $cb)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $init)))
    ;; The taps, row-major.
    (local.set $i (i32.const 0))
    (block $iDone (loop $iLoop
      (br_if $iDone (i32.ge_u (local.get $i) (i32.const 3)))
      (local.set $j (i32.const 0))
      (block $jDone (loop $jLoop
        (br_if $jDone (i32.ge_u (local.get $j) (i32.const 3)))
        (local.set $wp (i32.add (local.get $wt) (i32.mul (i32.add (i32.mul (local.get $i) (i32.const 3)) (local.get $j)) (local.get $cb))))
        ;; Output columns whose input column ox*s + j*d - left lies in [0, w): [ox, ox1).
        (local.set $lower (i32.sub (local.get $left) (i32.mul (local.get $j) (local.get $d))))
        (local.set $ox (if (result i32) (i32.le_s (local.get $lower) (i32.const 0))
          (then (i32.const 0))
          (else (i32.div_u (i32.add (local.get $lower) (i32.sub (local.get $s) (i32.const 1))) (local.get $s)))))
        (local.set $upper (i32.add (i32.sub (local.get $w) (i32.const 1)) (local.get $lower)))
        (local.set $ox1 (if (result i32) (i32.lt_s (local.get $upper) (i32.const 0))
          (then (i32.const 0))
          (else (i32.add (i32.div_u (local.get $upper) (local.get $s)) (i32.const 1)))))
        (if (i32.gt_u (local.get $ox1) (local.get $wo)) (then (local.set $ox1 (local.get $wo))))
        (if (i32.lt_u (local.get $ox) (local.get $ox1)) (then
          (local.set $b (i32.const 0))
          (block $bDone (loop $bLoop
            (br_if $bDone (i32.ge_u (local.get $b) (local.get $n)))
            (local.set $oy (i32.const 0))
            (block $yDone (loop $yLoop
              (br_if $yDone (i32.ge_u (local.get $oy) (local.get $ho)))
              (local.set $iy (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $s)) (i32.mul (local.get $i) (local.get $d))) (local.get $top)))
              (if (i32.lt_u (local.get $iy) (local.get $h)) ;; unsigned: also rejects iy < 0
                (then
                  (local.set $yp (i32.add (local.get $y)
                    (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $ho)) (local.get $oy)) (local.get $wo)) (local.get $ox)) (local.get $cb))))
                  (local.set $xp (i32.add (local.get $x)
                    (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $iy)) (local.get $w))
                      (i32.sub (i32.mul (local.get $ox) (local.get $s)) (local.get $lower))) (local.get $cb))))
                  (local.set $p (local.get $ox))
                  (block $pDone (loop $pLoop
                    (br_if $pDone (i32.ge_u (local.get $p) (local.get $ox1)))
                    (local.set $k (i32.const 0))
                    (loop $ch2
                      (v128.store (i32.add (local.get $yp) (local.get $k))
                        (f32x4.add (v128.load (i32.add (local.get $yp) (local.get $k)))
                          (f32x4.mul (v128.load (i32.add (local.get $xp) (local.get $k))) (v128.load (i32.add (local.get $wp) (local.get $k))))))
                      (br_if $ch2 (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $cb))))
                    (local.set $yp (i32.add (local.get $yp) (local.get $cb)))
                    (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
                    (local.set $p (i32.add (local.get $p) (i32.const 1)))
                    (br $pLoop)))))
              (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
              (br $yLoop)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $bLoop)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jLoop)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $iLoop)))
    ;; The activation's clamp.
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $yp (local.get $y))
    (local.set $p (i32.mul (local.get $pixels) (local.get $cb)))
    (local.set $k (i32.const 0))
    (block $clampDone (loop $clamp
      (br_if $clampDone (i32.ge_u (local.get $k) (local.get $p)))
      (v128.store (i32.add (local.get $yp) (local.get $k))
        (f32x4.pmin (f32x4.pmax (v128.load (i32.add (local.get $yp) (local.get $k))) (local.get $vlo)) (local.get $vhi)))
      (local.set $k (i32.add (local.get $k) (i32.const 16)))
      (br $clamp)))
  )

  ;; Depthwise 3x3 filter gradient, multiplier 1, any stride s, dilation d and padding (as
  ;; dw_filter_grad): dW[i, j, ch] = sum of x[b, oy*s + i*d - top, ox*s + j*d - left, ch] *
  ;; dy[b, oy, ox, ch], added into a64 (9*c doubles). Per output row, tap and 4 channels the
  ;; products over the row's columns that reach inside x (computed, not tested) accumulate
  ;; in registers (4 chains, columns mod 4, summed pairwise), and each row's sum is added
  ;; into the float64 totals: dw_filter_grad reads and writes its float32 sums in memory for
  ;; every pixel and tap (~3x slower). Fixed order: deterministic.
  (func (export "dw3x3_filter_grad")
    (param $x i32) (param $dy i32) (param $a64 i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $ho i32) (param $wo i32) (param $s i32) (param $d i32) (param $top i32) (param $left i32)
    (local $cb i32) (local $xs i32) (local $b i32) (local $oy i32) (local $iy i32) (local $i i32) (local $j i32)
    (local $lower i32) (local $upper i32) (local $ox0 i32) (local $ox1 i32) (local $k i32) (local $ox i32)
    (local $xrow i32) (local $dyrow i32) (local $xp i32) (local $dp i32) (local $ap i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $xs (i32.mul (local.get $cb) (local.get $s)))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $oy (i32.const 0))
      (block $yDone (loop $yLoop
        (br_if $yDone (i32.ge_u (local.get $oy) (local.get $ho)))
        (local.set $dyrow (i32.add (local.get $dy) (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $ho)) (local.get $oy)) (local.get $wo)) (local.get $cb))))
        (local.set $i (i32.const 0))
        (block $iDone (loop $iLoop
          (br_if $iDone (i32.ge_u (local.get $i) (i32.const 3)))
          (local.set $iy (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $s)) (i32.mul (local.get $i) (local.get $d))) (local.get $top)))
          (if (i32.lt_u (local.get $iy) (local.get $h)) ;; unsigned: also rejects iy < 0
            (then
              (local.set $xrow (i32.add (local.get $x) (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $iy)) (local.get $w)) (local.get $cb))))
              (local.set $j (i32.const 0))
              (block $jDone (loop $jLoop
                (br_if $jDone (i32.ge_u (local.get $j) (i32.const 3)))
                ;; Output columns whose input column ox*s + j*d - left lies in [0, w): [ox0, ox1).
                (local.set $lower (i32.sub (local.get $left) (i32.mul (local.get $j) (local.get $d))))
                (local.set $ox0 (if (result i32) (i32.le_s (local.get $lower) (i32.const 0))
                  (then (i32.const 0))
                  (else (i32.div_u (i32.add (local.get $lower) (i32.sub (local.get $s) (i32.const 1))) (local.get $s)))))
                (local.set $upper (i32.add (i32.sub (local.get $w) (i32.const 1)) (local.get $lower)))
                (local.set $ox1 (if (result i32) (i32.lt_s (local.get $upper) (i32.const 0))
                  (then (i32.const 0))
                  (else (i32.add (i32.div_u (local.get $upper) (local.get $s)) (i32.const 1)))))
                (if (i32.gt_u (local.get $ox1) (local.get $wo)) (then (local.set $ox1 (local.get $wo))))
                (if (i32.lt_u (local.get $ox0) (local.get $ox1)) (then
                  (local.set $ap (i32.add (local.get $a64) (i32.shl (i32.mul (i32.add (i32.mul (local.get $i) (i32.const 3)) (local.get $j)) (local.get $c)) (i32.const 3))))
                  (local.set $k (i32.const 0))
                  ;; 16 channels (a cache line) at a time along the row, one chain each 4.
                  (block $blockDone (loop $blockLoop
                    (br_if $blockDone (i32.gt_u (i32.add (local.get $k) (i32.const 64)) (local.get $cb)))
                    (local.set $xp (i32.add (i32.add (local.get $xrow) (local.get $k))
                      (i32.mul (i32.sub (i32.mul (local.get $ox0) (local.get $s)) (local.get $lower)) (local.get $cb))))
                    (local.set $dp (i32.add (i32.add (local.get $dyrow) (local.get $k)) (i32.mul (local.get $ox0) (local.get $cb))))
                    (local.set $acc0 (v128.const i32x4 0 0 0 0))
                    (local.set $acc1 (v128.const i32x4 0 0 0 0))
                    (local.set $acc2 (v128.const i32x4 0 0 0 0))
                    (local.set $acc3 (v128.const i32x4 0 0 0 0))
                    (local.set $ox (local.get $ox0))
                    (block $oDone (loop $oLoop
                      (br_if $oDone (i32.ge_u (local.get $ox) (local.get $ox1)))
                      (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load (local.get $xp)) (v128.load (local.get $dp)))))
                      (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load offset=16 (local.get $xp)) (v128.load offset=16 (local.get $dp)))))
                      (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load offset=32 (local.get $xp)) (v128.load offset=32 (local.get $dp)))))
                      (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load offset=48 (local.get $xp)) (v128.load offset=48 (local.get $dp)))))
                      (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
                      (local.set $dp (i32.add (local.get $dp) (local.get $cb)))
                      (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                      (br $oLoop)))
                    (call $addPromoted (local.get $ap) (local.get $acc0))
                    (call $addPromoted (i32.add (local.get $ap) (i32.const 32)) (local.get $acc1))
                    (call $addPromoted (i32.add (local.get $ap) (i32.const 64)) (local.get $acc2))
                    (call $addPromoted (i32.add (local.get $ap) (i32.const 96)) (local.get $acc3))
                    (local.set $ap (i32.add (local.get $ap) (i32.const 128)))
                    (local.set $k (i32.add (local.get $k) (i32.const 64)))
                    (br $blockLoop)))
                  ;; The remaining channels 4 at a time, one chain per column mod 4.
                  (block $kDone (loop $kLoop
                    (br_if $kDone (i32.ge_u (local.get $k) (local.get $cb)))
                    (local.set $xp (i32.add (i32.add (local.get $xrow) (local.get $k))
                      (i32.mul (i32.sub (i32.mul (local.get $ox0) (local.get $s)) (local.get $lower)) (local.get $cb))))
                    (local.set $dp (i32.add (i32.add (local.get $dyrow) (local.get $k)) (i32.mul (local.get $ox0) (local.get $cb))))
                    (local.set $acc0 (v128.const i32x4 0 0 0 0))
                    (local.set $acc1 (v128.const i32x4 0 0 0 0))
                    (local.set $acc2 (v128.const i32x4 0 0 0 0))
                    (local.set $acc3 (v128.const i32x4 0 0 0 0))
                    (local.set $ox (local.get $ox0))
                    ;; Four columns at a time, one chain each.
                    (block $qDone (loop $qLoop
                      (br_if $qDone (i32.gt_u (i32.add (local.get $ox) (i32.const 4)) (local.get $ox1)))
                      (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load (local.get $xp)) (v128.load (local.get $dp)))))
                      (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
                      (local.set $dp (i32.add (local.get $dp) (local.get $cb)))
                      (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (v128.load (local.get $xp)) (v128.load (local.get $dp)))))
                      (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
                      (local.set $dp (i32.add (local.get $dp) (local.get $cb)))
                      (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (v128.load (local.get $xp)) (v128.load (local.get $dp)))))
                      (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
                      (local.set $dp (i32.add (local.get $dp) (local.get $cb)))
                      (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (v128.load (local.get $xp)) (v128.load (local.get $dp)))))
                      (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
                      (local.set $dp (i32.add (local.get $dp) (local.get $cb)))
                      (local.set $ox (i32.add (local.get $ox) (i32.const 4)))
                      (br $qLoop)))
                    ;; The last columns on the first chain.
                    (block $rDone (loop $rLoop
                      (br_if $rDone (i32.ge_u (local.get $ox) (local.get $ox1)))
                      (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (v128.load (local.get $xp)) (v128.load (local.get $dp)))))
                      (local.set $xp (i32.add (local.get $xp) (local.get $xs)))
                      (local.set $dp (i32.add (local.get $dp) (local.get $cb)))
                      (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                      (br $rLoop)))
                    (call $addPromoted (local.get $ap)
                      (f32x4.add (f32x4.add (local.get $acc0) (local.get $acc1)) (f32x4.add (local.get $acc2) (local.get $acc3))))
                    (local.set $ap (i32.add (local.get $ap) (i32.const 32)))
                    (local.set $k (i32.add (local.get $k) (i32.const 16)))
                    (br $kLoop)))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $jLoop)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $iLoop)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop)))
  )

  ;; Input gradient of a 3x3 depthwise convolution (multiplier 1) at stride s, dilation d,
  ;; padding top / left, without zero-stuffing dy: dx[b, iy, ix] = sum over the taps (i, j)
  ;; with iy = oy*s + i*d - top and ix = ox*s + j*d - left of dy[b, oy, ox] * w[i, j]. Row by
  ;; row of dx (zeroed, then the taps that land on it added in row-major order over the
  ;; columns they reach): at stride 2 a quarter of the multiply-adds of the zero-stuffed
  ;; route and none of its copies. Deterministic.
  (func (export "dw3x3_input_grad")
    (param $dy i32) (param $wt i32) (param $dx i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $ho i32) (param $wo i32) (param $s i32) (param $d i32) (param $top i32) (param $left i32)
    (local $cb i32) (local $xs i32) (local $b i32) (local $iy i32) (local $t i32) (local $oy i32) (local $i i32) (local $j i32)
    (local $lower i32) (local $upper i32) (local $ox0 i32) (local $ox1 i32) (local $ox i32) (local $k i32)
    (local $row i32) (local $dyrow i32) (local $op i32) (local $ip i32) (local $wp i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $xs (i32.mul (local.get $cb) (local.get $s)))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $iy (i32.const 0))
      (block $yDone (loop $yLoop
        (br_if $yDone (i32.ge_u (local.get $iy) (local.get $h)))
        (local.set $row (i32.add (local.get $dx) (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (local.get $iy)) (local.get $w)) (local.get $cb))))
        (memory.fill (local.get $row) (i32.const 0) (i32.mul (local.get $w) (local.get $cb)))
        (local.set $i (i32.const 0))
        (block $iDone (loop $iLoop
          (br_if $iDone (i32.ge_u (local.get $i) (i32.const 3)))
          ;; The dy row oy with oy*s + i*d - top = iy, if there is one.
          (local.set $t (i32.sub (i32.add (local.get $iy) (local.get $top)) (i32.mul (local.get $i) (local.get $d))))
          (if (i32.and (i32.ge_s (local.get $t) (i32.const 0)) (i32.eqz (i32.rem_u (local.get $t) (local.get $s))))
            (then
              (local.set $oy (i32.div_u (local.get $t) (local.get $s)))
              (if (i32.lt_u (local.get $oy) (local.get $ho))
                (then
                  (local.set $dyrow (i32.add (local.get $dy) (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $ho)) (local.get $oy)) (local.get $wo)) (local.get $cb))))
                  (local.set $j (i32.const 0))
                  (block $jDone (loop $jLoop
                    (br_if $jDone (i32.ge_u (local.get $j) (i32.const 3)))
                    ;; dy columns whose dx column ox*s + j*d - left lies in [0, w): [ox0, ox1).
                    (local.set $lower (i32.sub (local.get $left) (i32.mul (local.get $j) (local.get $d))))
                    (local.set $ox0 (if (result i32) (i32.le_s (local.get $lower) (i32.const 0))
                      (then (i32.const 0))
                      (else (i32.div_u (i32.add (local.get $lower) (i32.sub (local.get $s) (i32.const 1))) (local.get $s)))))
                    (local.set $upper (i32.add (i32.sub (local.get $w) (i32.const 1)) (local.get $lower)))
                    (local.set $ox1 (if (result i32) (i32.lt_s (local.get $upper) (i32.const 0))
                      (then (i32.const 0))
                      (else (i32.add (i32.div_u (local.get $upper) (local.get $s)) (i32.const 1)))))
                    (if (i32.gt_u (local.get $ox1) (local.get $wo)) (then (local.set $ox1 (local.get $wo))))
                    (local.set $wp (i32.add (local.get $wt) (i32.mul (i32.add (i32.mul (local.get $i) (i32.const 3)) (local.get $j)) (local.get $cb))))
                    (local.set $op (i32.add (local.get $row) (i32.mul (i32.sub (i32.mul (local.get $ox0) (local.get $s)) (local.get $lower)) (local.get $cb))))
                    (local.set $ip (i32.add (local.get $dyrow) (i32.mul (local.get $ox0) (local.get $cb))))
                    (local.set $ox (local.get $ox0))
                    (block $oDone (loop $oLoop
                      (br_if $oDone (i32.ge_u (local.get $ox) (local.get $ox1)))
                      (local.set $k (i32.const 0))
                      (loop $ch
                        (v128.store (i32.add (local.get $op) (local.get $k))
                          (f32x4.add (v128.load (i32.add (local.get $op) (local.get $k)))
                            (f32x4.mul (v128.load (i32.add (local.get $ip) (local.get $k))) (v128.load (i32.add (local.get $wp) (local.get $k))))))
                        (br_if $ch (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 16))) (local.get $cb))))
                      (local.set $op (i32.add (local.get $op) (local.get $xs)))
                      (local.set $ip (i32.add (local.get $ip) (local.get $cb)))
                      (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                      (br $oLoop)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br $jLoop)))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $iLoop)))
        (local.set $iy (i32.add (local.get $iy) (i32.const 1)))
        (br $yLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop)))
  )
)
