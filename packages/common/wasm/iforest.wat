;; Isolation Forest traversal kernel (packages/common/src/anomaly/walk-wasm.ts drives it).
;;
;; The forest is stored as perfect binary trees of height L (see isolation-forest.ts): node p
;; has children 2p+1 (x <= threshold) and 2p+2, and every walk takes exactly L steps, so the
;; kernel has no leaf test. Eight rows walk each tree together: a walk is a chain of dependent
;; loads (node -> feature -> value -> next node), and eight independent chains let the CPU
;; overlap their latencies. The comparison becomes an integer (f64.le gives 0 or 1), so there
;; is no branch to mispredict on a 50/50 split. This is the same arithmetic as the JavaScript
;; walk (walk-js.ts): for every row, depth += leafValue of the tree, trees in order, in
;; float64, so the two give bit-identical depths (tested).
;;
;; Why WebAssembly: the JavaScript walk pays a bounds check on each of its four typed-array
;; loads per step and a conversion of the comparison; this kernel measured 2.3-2.6x faster
;; than it on the same forest and rows (bench/anomaly-iforest-ab.ts). No SIMD here: a
;; walk's loads are gathers (each row its own node), which fixed-width SIMD does not have.
;;
;; Memory is imported and owned by the caller (walk-wasm.ts lays it out; offsets in bytes):
;;   feat  : i32[trees * (2^L - 1)]   split feature of every internal node
;;   thr   : f64[trees * (2^L - 1)]   split threshold
;;   leaf  : f64[trees * 2^L]         path length credited at every bottom-level leaf
;;   data  : f64[rows * cols]         a block of rows, row-major
;;   depth : f64[rows]                running sums, added to
;; rows must be a multiple of 8 (the caller pads the block; padding rows are ignored).
(module
  (import "env" "memory" (memory 1))

  (func (export "walk")
    (param $feat i32) (param $thr i32) (param $leaf i32) (param $data i32) (param $depth i32)
    (param $rows i32) (param $cols i32) (param $trees i32) (param $L i32)
    (local $t i32) (local $r i32) (local $level i32)
    (local $fb i32) (local $tb i32) (local $lb i32) (local $db i32)
    (local $stride i32) (local $internal i32) (local $leaves i32)
    (local $o0 i32) (local $o1 i32) (local $o2 i32) (local $o3 i32)
    (local $o4 i32) (local $o5 i32) (local $o6 i32) (local $o7 i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $p4 i32) (local $p5 i32) (local $p6 i32) (local $p7 i32)
    (local.set $stride (i32.shl (local.get $cols) (i32.const 3)))
    (local.set $leaves (i32.shl (i32.const 1) (local.get $L)))
    (local.set $internal (i32.sub (local.get $leaves) (i32.const 1)))
    (block $trees_done
      (loop $each_tree
        (br_if $trees_done (i32.ge_u (local.get $t) (local.get $trees)))
        ;; this tree's features, thresholds and leaves; lb is biased by -internal so that
        ;; a bottom-level node index p (internal <= p < 2 * internal + 1) addresses its leaf
        (local.set $fb (i32.add (local.get $feat)
          (i32.shl (i32.mul (local.get $t) (local.get $internal)) (i32.const 2))))
        (local.set $tb (i32.add (local.get $thr)
          (i32.shl (i32.mul (local.get $t) (local.get $internal)) (i32.const 3))))
        (local.set $lb (i32.add (local.get $leaf)
          (i32.shl (i32.sub (i32.mul (local.get $t) (local.get $leaves)) (local.get $internal)) (i32.const 3))))
        (local.set $r (i32.const 0))
        (block $rows_done
          (loop $each_group
            (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
            ;; the eight rows' first bytes
            (local.set $o0 (i32.add (local.get $data) (i32.mul (local.get $r) (local.get $stride))))
            (local.set $o1 (i32.add (local.get $o0) (local.get $stride)))
            (local.set $o2 (i32.add (local.get $o1) (local.get $stride)))
            (local.set $o3 (i32.add (local.get $o2) (local.get $stride)))
            (local.set $o4 (i32.add (local.get $o3) (local.get $stride)))
            (local.set $o5 (i32.add (local.get $o4) (local.get $stride)))
            (local.set $o6 (i32.add (local.get $o5) (local.get $stride)))
            (local.set $o7 (i32.add (local.get $o6) (local.get $stride)))
            (local.set $p0 (i32.const 0)) (local.set $p1 (i32.const 0))
            (local.set $p2 (i32.const 0)) (local.set $p3 (i32.const 0))
            (local.set $p4 (i32.const 0)) (local.set $p5 (i32.const 0))
            (local.set $p6 (i32.const 0)) (local.set $p7 (i32.const 0))
            (local.set $level (local.get $L))
            (loop $each_level
              ;; p = 2p + 2 - (x[feat[p]] <= thr[p]): left child 2p+1 when the row goes left
              (local.set $p0 (i32.sub (i32.add (i32.shl (local.get $p0) (i32.const 1)) (i32.const 2))
                (f64.le
                  (f64.load (i32.add (local.get $o0)
                    (i32.shl (i32.load (i32.add (local.get $fb) (i32.shl (local.get $p0) (i32.const 2)))) (i32.const 3))))
                  (f64.load (i32.add (local.get $tb) (i32.shl (local.get $p0) (i32.const 3)))))))
              (local.set $p1 (i32.sub (i32.add (i32.shl (local.get $p1) (i32.const 1)) (i32.const 2))
                (f64.le
                  (f64.load (i32.add (local.get $o1)
                    (i32.shl (i32.load (i32.add (local.get $fb) (i32.shl (local.get $p1) (i32.const 2)))) (i32.const 3))))
                  (f64.load (i32.add (local.get $tb) (i32.shl (local.get $p1) (i32.const 3)))))))
              (local.set $p2 (i32.sub (i32.add (i32.shl (local.get $p2) (i32.const 1)) (i32.const 2))
                (f64.le
                  (f64.load (i32.add (local.get $o2)
                    (i32.shl (i32.load (i32.add (local.get $fb) (i32.shl (local.get $p2) (i32.const 2)))) (i32.const 3))))
                  (f64.load (i32.add (local.get $tb) (i32.shl (local.get $p2) (i32.const 3)))))))
              (local.set $p3 (i32.sub (i32.add (i32.shl (local.get $p3) (i32.const 1)) (i32.const 2))
                (f64.le
                  (f64.load (i32.add (local.get $o3)
                    (i32.shl (i32.load (i32.add (local.get $fb) (i32.shl (local.get $p3) (i32.const 2)))) (i32.const 3))))
                  (f64.load (i32.add (local.get $tb) (i32.shl (local.get $p3) (i32.const 3)))))))
              (local.set $p4 (i32.sub (i32.add (i32.shl (local.get $p4) (i32.const 1)) (i32.const 2))
                (f64.le
                  (f64.load (i32.add (local.get $o4)
                    (i32.shl (i32.load (i32.add (local.get $fb) (i32.shl (local.get $p4) (i32.const 2)))) (i32.const 3))))
                  (f64.load (i32.add (local.get $tb) (i32.shl (local.get $p4) (i32.const 3)))))))
              (local.set $p5 (i32.sub (i32.add (i32.shl (local.get $p5) (i32.const 1)) (i32.const 2))
                (f64.le
                  (f64.load (i32.add (local.get $o5)
                    (i32.shl (i32.load (i32.add (local.get $fb) (i32.shl (local.get $p5) (i32.const 2)))) (i32.const 3))))
                  (f64.load (i32.add (local.get $tb) (i32.shl (local.get $p5) (i32.const 3)))))))
              (local.set $p6 (i32.sub (i32.add (i32.shl (local.get $p6) (i32.const 1)) (i32.const 2))
                (f64.le
                  (f64.load (i32.add (local.get $o6)
                    (i32.shl (i32.load (i32.add (local.get $fb) (i32.shl (local.get $p6) (i32.const 2)))) (i32.const 3))))
                  (f64.load (i32.add (local.get $tb) (i32.shl (local.get $p6) (i32.const 3)))))))
              (local.set $p7 (i32.sub (i32.add (i32.shl (local.get $p7) (i32.const 1)) (i32.const 2))
                (f64.le
                  (f64.load (i32.add (local.get $o7)
                    (i32.shl (i32.load (i32.add (local.get $fb) (i32.shl (local.get $p7) (i32.const 2)))) (i32.const 3))))
                  (f64.load (i32.add (local.get $tb) (i32.shl (local.get $p7) (i32.const 3)))))))
              (local.set $level (i32.sub (local.get $level) (i32.const 1)))
              (br_if $each_level (local.get $level)))
            ;; depth[r + k] += leaf[p_k]
            (local.set $db (i32.add (local.get $depth) (i32.shl (local.get $r) (i32.const 3))))
            (f64.store offset=0 (local.get $db)
              (f64.add (f64.load offset=0 (local.get $db))
                (f64.load (i32.add (local.get $lb) (i32.shl (local.get $p0) (i32.const 3))))))
            (f64.store offset=8 (local.get $db)
              (f64.add (f64.load offset=8 (local.get $db))
                (f64.load (i32.add (local.get $lb) (i32.shl (local.get $p1) (i32.const 3))))))
            (f64.store offset=16 (local.get $db)
              (f64.add (f64.load offset=16 (local.get $db))
                (f64.load (i32.add (local.get $lb) (i32.shl (local.get $p2) (i32.const 3))))))
            (f64.store offset=24 (local.get $db)
              (f64.add (f64.load offset=24 (local.get $db))
                (f64.load (i32.add (local.get $lb) (i32.shl (local.get $p3) (i32.const 3))))))
            (f64.store offset=32 (local.get $db)
              (f64.add (f64.load offset=32 (local.get $db))
                (f64.load (i32.add (local.get $lb) (i32.shl (local.get $p4) (i32.const 3))))))
            (f64.store offset=40 (local.get $db)
              (f64.add (f64.load offset=40 (local.get $db))
                (f64.load (i32.add (local.get $lb) (i32.shl (local.get $p5) (i32.const 3))))))
            (f64.store offset=48 (local.get $db)
              (f64.add (f64.load offset=48 (local.get $db))
                (f64.load (i32.add (local.get $lb) (i32.shl (local.get $p6) (i32.const 3))))))
            (f64.store offset=56 (local.get $db)
              (f64.add (f64.load offset=56 (local.get $db))
                (f64.load (i32.add (local.get $lb) (i32.shl (local.get $p7) (i32.const 3))))))
            (local.set $r (i32.add (local.get $r) (i32.const 8)))
            (br $each_group)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $each_tree)))))
