/**
 * Summarises a V8 .cpuprofile (e.g. from FINSECURE_BENCH_SCALE_PROFILE, see bench/scale.ts): the
 * functions with the most self time and the most total (inclusive) time, in ms and % of the
 * profile; or a sampling .heapprofile (FINSECURE_BENCH_SCALE_HEAP_PROFILE): the same for the bytes
 * allocated, in KB. Usage: `npx tsx bench/profile-top.ts <file> [top=25] [function name]`; with a
 * function name, also where that function's time (or allocation) goes, by callee.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}
interface HeapNode {
  id: number;
  callFrame: ProfileNode['callFrame'];
  children: HeapNode[];
}
interface HeapProfile {
  head: HeapNode;
  samples: { size: number; nodeId: number }[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile|file.heapprofile> [top] [function name]');
const top = Number(process.argv[3] ?? 25);
const raw = JSON.parse(readFileSync(file, 'utf8')) as Profile | HeapProfile;
const heap = 'head' in raw;
/** What a sample weighs: µs of CPU, or bytes allocated. */
const selfUs = new Map<number, number>();
const addWeight = (id: number, w: number) => selfUs.set(id, (selfUs.get(id) ?? 0) + w);
const p: { nodes: ProfileNode[] } = { nodes: [] };
if (heap) {
  const flatten = (n: HeapNode): void => {
    p.nodes.push({ id: n.id, callFrame: n.callFrame, children: n.children.map((c) => c.id) });
    n.children.forEach(flatten);
  };
  flatten(raw.head);
  for (const s of raw.samples) addWeight(s.nodeId, s.size);
} else {
  p.nodes = raw.nodes;
  // Self time per node: each sample's delta goes to the node it was taken in.
  for (let i = 0; i < raw.samples.length; i++) addWeight(raw.samples[i]!, raw.timeDeltas[i] ?? 0);
}
const unit = heap ? 'KB' : 'ms';
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: ProfileNode) => {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(packages|bench|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};
const self = new Map<string, number>();
const total = new Map<string, number>();
let all = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  all += us;
  self.set(label(n), (self.get(label(n)) ?? 0) + us);
  // Inclusive: once per distinct label on the stack (recursion counted once).
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + us);
  }
}
const idle = self.get('(idle)') ?? 0;
const busy = all - idle;
console.log(
  heap
    ? `${file}: ${(all / 1000).toFixed(0)} KB allocated (sampled, collected or not)`
    : `${file}: ${(all / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms not idle`,
);
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [l, us] of [...m]
    .filter(([l]) => l !== '(idle)' && l !== '(root)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top))
    console.log(`${(us / 1000).toFixed(1).padStart(9)} ${unit} ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${l}`);
};
print(heap ? 'self (allocated in the function itself)' : 'self time', self);
print(heap ? 'total (inclusive)' : 'total time (inclusive)', total);

const focus = process.argv[4];
if (focus) {
  // Per sample: the frame called by the outermost `focus` frame on its stack (or `focus` itself).
  const under = new Map<string, number>();
  for (const [id, us] of selfUs) {
    let child: number | undefined;
    let hit = false;
    for (
      let cur: number | undefined = id, prev: number | undefined;
      cur !== undefined;
      prev = cur, cur = parent.get(cur)
    ) {
      if (byId.get(cur)!.callFrame.functionName === focus) {
        hit = true;
        child = prev;
      }
    }
    if (!hit) continue;
    const l = child === undefined ? `(self) ${focus}` : label(byId.get(child)!);
    under.set(l, (under.get(l) ?? 0) + us);
  }
  print(`under ${focus}: inclusive time of its callees`, under);
}
