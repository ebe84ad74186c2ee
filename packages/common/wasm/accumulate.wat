;; Weighted accumulate of float32 vectors into a float64 sum, and a finiteness check, with
;; WebAssembly SIMD (fixed-width 128-bit, no relaxed SIMD).
;;
;; Bit for bit the JavaScript loops of common/strategy/fedavg.ts: each value is promoted to
;; float64 (exact), multiplied by w and then added to the sum, two separately rounded IEEE 754
;; operations per value (f64x2.mul then f64x2.add; there is no fused multiply-add in fixed-width
;; SIMD), which is what `s[i] += w * x[i]` computes in JS. Lanes are independent, so the order of
;; the values does not matter to the result.
;;
;; Operands live in the memory the host passes in ("env" "memory"): byte offsets, no alignment
;; required (SIMD loads and stores accept any address), ranges must not overlap.
;; Built by scripts/build-wasm.mjs into src/kernels/wasm/accumulate.wasm.ts.
(module
  (import "env" "memory" (memory 0))

  ;; acc[i] = acc[i] + w * x[i] for i in [0, n); acc: float64 at byte offset $acc, x: float32 at $x.
  (func (export "axpy") (param $acc i32) (param $x i32) (param $n i32) (param $w f64)
    (local $wv v128) (local $end4 i32) (local $i i32)
    (local.set $wv (f64x2.splat (local.get $w)))
    (local.set $end4 (i32.and (local.get $n) (i32.const -4)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        ;; values i, i+1
        (v128.store offset=0 (local.get $acc)
          (f64x2.add
            (v128.load offset=0 (local.get $acc))
            (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $x))) (local.get $wv))))
        ;; values i+2, i+3
        (v128.store offset=16 (local.get $acc)
          (f64x2.add
            (v128.load offset=16 (local.get $acc))
            (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $x))) (local.get $wv))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 32)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (f64.store (local.get $acc)
          (f64.add (f64.load (local.get $acc)) (f64.mul (f64.promote_f32 (f32.load (local.get $x))) (local.get $w))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 8)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one))))

  ;; acc[i] = 0 + w * x[i]: the first update of a sum that is all zeros, stored without reading
  ;; the sum (0 + p is p, except that -0 becomes +0, exactly as in the JS path).
  (func (export "scale") (param $acc i32) (param $x i32) (param $n i32) (param $w f64)
    (local $wv v128) (local $zero v128) (local $end4 i32) (local $i i32)
    (local.set $wv (f64x2.splat (local.get $w)))
    (local.set $zero (f64x2.splat (f64.const 0)))
    (local.set $end4 (i32.and (local.get $n) (i32.const -4)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        (v128.store offset=0 (local.get $acc)
          (f64x2.add (local.get $zero)
            (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=0 (local.get $x))) (local.get $wv))))
        (v128.store offset=16 (local.get $acc)
          (f64x2.add (local.get $zero)
            (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $x))) (local.get $wv))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 32)))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (f64.store (local.get $acc)
          (f64.add (f64.const 0) (f64.mul (f64.promote_f32 (f32.load (local.get $x))) (local.get $w))))
        (local.set $acc (i32.add (local.get $acc) (i32.const 8)))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one))))

  ;; 1 if every float32 x[i], i in [0, n), is finite, else 0. |x| <= FLT_MAX is false for NaN and
  ;; ±Infinity; the lane masks are and-ed together (no float chain), tested once at the end.
  (func (export "all_finite") (param $x i32) (param $n i32) (result i32)
    (local $max v128) (local $ok v128) (local $end4 i32) (local $i i32)
    (local.set $max (f32x4.splat (f32.const 0x1.fffffep+127)))
    (local.set $ok (i32x4.splat (i32.const -1)))
    (local.set $end4 (i32.and (local.get $n) (i32.const -4)))
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $ok
          (v128.and (local.get $ok)
            (f32x4.le (f32x4.abs (v128.load (local.get $x))) (local.get $max))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eqz (f32.le (f32.abs (f32.load (local.get $x))) (f32.const 0x1.fffffep+127)))
          (then (return (i32.const 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one)))
    (i32x4.all_true (local.get $ok))))
