;; The dense layers of the MLP with WebAssembly SIMD (fixed-width 128-bit, no relaxed SIMD): the
;; forward pass of predictions (model/forward.ts) and the forward and backward pass of a training
;; batch (model/kernel-gradient.ts). Keras Dense layers, in float32.
;;
;; gemm: y = act(A·B + bias), a register-blocked matrix product, 4 rows × 8 columns per block (eight
;;   f32x4 accumulators; each B vector loaded once per 4 rows, each A value splatted once per 8
;;   columns): the shape of XNNPACK's "4x8 wasmsimd splat" GEMM microkernel, fused with the bias and
;;   a ReLU (relu = 1) or the identity (relu = 0: max with -inf). A is read through two strides, so
;;   that one kernel computes x·W (A row-major) and Aᵀ·dZ (A's columns as rows) without a transpose.
;;   Each output is bias + Σ_p a_p·b_p summed in order of p, every product and sum rounded to
;;   float32 (there is no fused multiply-add in fixed-width SIMD).
;;     A: element (i, p) at a + i·aRow + p·aK (bytes); B: element (p, j) at b + p·bRow + 4j;
;;     bias: n floats (a zero block for none); y: element (i, j) at y + i·yRow + 4j.
;;     Requires m % 4 == 0, n % 8 == 0, k >= 1 (the callers pad).
;; dot: the one-unit output layer, z[r] = (Σ_j x[r, j]·w[j] in four interleaved lanes, summed
;;   lane 0 + 1, 2 + 3, then together) + b. Requires in % 4 == 0.
;; mul: x[i] = x[i]·m[i] (dropout masks); relu_grad: d[i] = h[i] > 0 ? d[i] : 0 (the gradient
;;   through ReLU and a 0/1 dropout mask, which pass exactly where the output h is positive).
;;   Both over n floats, n % 4 == 0.
;;
;; Operands live in the memory the host passes in ("env" "memory"): byte offsets, no alignment
;; required (SIMD loads and stores accept any address), outputs must not overlap inputs.
;; Built by scripts/build-wasm.mjs into src/kernels/wasm/dense.wasm.ts.
(module
  (import "env" "memory" (memory 0))

  (func (export "gemm") (param $a i32) (param $m i32) (param $k i32) (param $aRow i32) (param $aK i32)
        (param $b i32) (param $bRow i32) (param $n i32) (param $bias i32) (param $y i32) (param $yRow i32)
        (param $relu i32)
    (local $i i32) (local $j i32) (local $p i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $pb i32) (local $py i32)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128)
    (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local $w0 v128) (local $w1 v128) (local $xv v128) (local $b0 v128) (local $b1 v128) (local $lo v128)
    (local.set $lo (if (result v128) (local.get $relu) (then (v128.const f32x4 0 0 0 0)) (else (v128.const f32x4 -inf -inf -inf -inf))))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $j (i32.const 0))
        (loop $jloop
          (local.set $b0 (v128.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
          (local.set $b1 (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
          (local.set $a00 (local.get $b0)) (local.set $a01 (local.get $b1))
          (local.set $a10 (local.get $b0)) (local.set $a11 (local.get $b1))
          (local.set $a20 (local.get $b0)) (local.set $a21 (local.get $b1))
          (local.set $a30 (local.get $b0)) (local.set $a31 (local.get $b1))
          (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $aRow))))
          (local.set $pa1 (i32.add (local.get $pa0) (local.get $aRow)))
          (local.set $pa2 (i32.add (local.get $pa1) (local.get $aRow)))
          (local.set $pa3 (i32.add (local.get $pa2) (local.get $aRow)))
          (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $p (local.get $k))
          (loop $ploop
            (local.set $w0 (v128.load (local.get $pb)))
            (local.set $w1 (v128.load offset=16 (local.get $pb)))
            (local.set $xv (v128.load32_splat (local.get $pa0)))
            (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $xv) (local.get $w0))))
            (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $xv) (local.get $w1))))
            (local.set $xv (v128.load32_splat (local.get $pa1)))
            (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $xv) (local.get $w0))))
            (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $xv) (local.get $w1))))
            (local.set $xv (v128.load32_splat (local.get $pa2)))
            (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (local.get $xv) (local.get $w0))))
            (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (local.get $xv) (local.get $w1))))
            (local.set $xv (v128.load32_splat (local.get $pa3)))
            (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (local.get $xv) (local.get $w0))))
            (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (local.get $xv) (local.get $w1))))
            (local.set $pb (i32.add (local.get $pb) (local.get $bRow)))
            (local.set $pa0 (i32.add (local.get $pa0) (local.get $aK)))
            (local.set $pa1 (i32.add (local.get $pa1) (local.get $aK)))
            (local.set $pa2 (i32.add (local.get $pa2) (local.get $aK)))
            (local.set $pa3 (i32.add (local.get $pa3) (local.get $aK)))
            (local.set $p (i32.sub (local.get $p) (i32.const 1)))
            (br_if $ploop (local.get $p)))
          (local.set $py (i32.add (i32.add (local.get $y) (i32.mul (local.get $i) (local.get $yRow))) (i32.shl (local.get $j) (i32.const 2))))
          (v128.store (local.get $py) (f32x4.max (local.get $a00) (local.get $lo)))
          (v128.store offset=16 (local.get $py) (f32x4.max (local.get $a01) (local.get $lo)))
          (local.set $py (i32.add (local.get $py) (local.get $yRow)))
          (v128.store (local.get $py) (f32x4.max (local.get $a10) (local.get $lo)))
          (v128.store offset=16 (local.get $py) (f32x4.max (local.get $a11) (local.get $lo)))
          (local.set $py (i32.add (local.get $py) (local.get $yRow)))
          (v128.store (local.get $py) (f32x4.max (local.get $a20) (local.get $lo)))
          (v128.store offset=16 (local.get $py) (f32x4.max (local.get $a21) (local.get $lo)))
          (local.set $py (i32.add (local.get $py) (local.get $yRow)))
          (v128.store (local.get $py) (f32x4.max (local.get $a30) (local.get $lo)))
          (v128.store offset=16 (local.get $py) (f32x4.max (local.get $a31) (local.get $lo)))
          (local.set $j (i32.add (local.get $j) (i32.const 8)))
          (br_if $jloop (i32.lt_u (local.get $j) (local.get $n))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $iloop)))
  )

  ;; z[r] = x[r, :] · w + b for in % 4 == 0
  (func (export "dot") (param $x i32) (param $rows i32) (param $in i32) (param $w i32) (param $b f32) (param $z i32)
    (local $px i32) (local $pend i32) (local $pw i32) (local $acc v128) (local $r i32) (local $rowIn i32)
    (local.set $rowIn (i32.shl (local.get $in) (i32.const 2)))
    (local.set $px (local.get $x))
    (block $done (loop $rl
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $acc (v128.const f32x4 0 0 0 0))
      (local.set $pw (local.get $w))
      (local.set $pend (i32.add (local.get $px) (local.get $rowIn)))
      (loop $il
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load (local.get $px)) (v128.load (local.get $pw)))))
        (local.set $px (i32.add (local.get $px) (i32.const 16)))
        (local.set $pw (i32.add (local.get $pw) (i32.const 16)))
        (br_if $il (i32.lt_u (local.get $px) (local.get $pend))))
      (f32.store (i32.add (local.get $z) (i32.shl (local.get $r) (i32.const 2)))
        (f32.add (local.get $b) (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
          (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc))))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
  )

  (func (export "mul") (param $x i32) (param $m i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (v128.store (local.get $x) (f32x4.mul (v128.load (local.get $x)) (v128.load (local.get $m))))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $m (i32.add (local.get $m) (i32.const 16)))
      (br $l)))
  )
  (func (export "relu_grad") (param $d i32) (param $h i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $d) (local.get $end)))
      (v128.store (local.get $d)
        (v128.and (v128.load (local.get $d)) (f32x4.gt (v128.load (local.get $h)) (v128.const f32x4 0 0 0 0))))
      (local.set $d (i32.add (local.get $d) (i32.const 16)))
      (local.set $h (i32.add (local.get $h) (i32.const 16)))
      (br $l)))
  )
)
