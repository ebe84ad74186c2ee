/**
 * The attack lab's report: attack.md (tables) with SVG charts beside it, like `compare`'s
 * report.md. Every number is measured by the lab (lab.ts); a run the aggregator refused (a
 * strategy that cannot run with these settings) is listed with its reason, not hidden.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeData, f3, table, writeJson } from '../report.js';
import { lineChart, PALETTE } from '../svg.js';
import type { AttackLabResult, AttackRun } from './lab.js';

const pct = (v: number | null | undefined) =>
  typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : 'n/a';

/** Final AUPRC of a run relative to the clean run of the same strategy. */
export function relativeToClean(r: AttackLabResult, run: AttackRun): number | null {
  const clean = r.runs.find((x) => x.strategy === run.strategy && x.attack === 'none');
  const a = run.final.auprc;
  const c = clean?.final.auprc;
  return a !== null && a !== undefined && c ? a / c : null;
}

function cell(r: AttackLabResult, run: AttackRun | undefined): string {
  if (!run) return '';
  if (run.status !== 'ok') return `${run.status}`;
  if (run.attack === 'none') return f3(run.final.auprc);
  return `${f3(run.final.auprc)} (${pct(relativeToClean(r, run))})`;
}

function scenarios(r: AttackLabResult): { attack: string; attackers: number[] }[] {
  const seen = new Map<string, { attack: string; attackers: number[] }>();
  for (const run of r.runs) {
    const key = `${run.attack}|${run.attackers.join(',')}`;
    if (!seen.has(key)) seen.set(key, { attack: run.attack, attackers: run.attackers });
  }
  return [...seen.values()];
}

const strategiesOf = (r: AttackLabResult) => [...new Set(r.runs.map((x) => x.strategy))];

function find(r: AttackLabResult, strategy: string, attack: string, attackers: number[]): AttackRun | undefined {
  return r.runs.find(
    (x) => x.strategy === strategy && x.attack === attack && x.attackers.join(',') === attackers.join(','),
  );
}

/** The summary table: final AUPRC per scenario × strategy, with % of the strategy's clean run. */
export function summaryTable(r: AttackLabResult): string {
  const strategies = strategiesOf(r);
  const rows = scenarios(r).map((s) => [
    s.attack === 'none' ? 'clean' : s.attack,
    s.attackers.length ? `${s.attackers.length} (${s.attackers.join(', ')})` : '0',
    ...strategies.map((st) => cell(r, find(r, st, s.attack, s.attackers))),
  ]);
  return table(['attack', 'attackers (banks)', ...strategies], rows);
}

function backdoorTable(r: AttackLabResult): string {
  const strategies = strategiesOf(r);
  const rows = scenarios(r)
    .filter((s) => s.attack === 'none' || s.attack === 'backdoor')
    .map((s) => [
      s.attack === 'none' ? 'clean (base rate)' : 'backdoor',
      String(s.attackers.length),
      ...strategies.map((st) => {
        const run = find(r, st, s.attack, s.attackers);
        return run?.status === 'ok' ? pct(run.final.backdoor) : (run?.status ?? '');
      }),
    ]);
  return table(['run', 'attackers', ...strategies], rows);
}

function exclusionTable(r: AttackLabResult): string {
  const rows = r.runs
    .filter((x) => x.status === 'ok' && x.attack !== 'none')
    .map((x) => {
      const rounds = x.rounds.filter((q) => q.status === 'committed');
      const hostile = rounds.reduce((s, q) => s + q.excludedHostile, 0);
      const honest = rounds.reduce((s, q) => s + q.excludedHonest, 0);
      const nHostile = rounds.length * x.attackers.length;
      const nHonest = rounds.length * (r.banks - x.attackers.length);
      return [x.attack, x.strategy, String(x.attackers.length), `${hostile} / ${nHostile}`, `${honest} / ${nHonest}`];
    });
  return table(['attack', 'strategy', 'attackers', 'hostile updates excluded', 'honest updates excluded'], rows);
}

function perRoundTable(r: AttackLabResult, attack: string, attackers: number[]): string {
  const strategies = strategiesOf(r);
  const rounds = Array.from({ length: r.rounds }, (_, i) => i + 1);
  const line = (st: string, run: AttackRun | undefined, clean: AttackRun | undefined) => [
    st,
    ...rounds.map((k) => {
      const a = run?.rounds.filter((q) => q.status === 'committed')[k - 1]?.auprc;
      const c = clean?.rounds.filter((q) => q.status === 'committed')[k - 1]?.auprc;
      return a === undefined || a === null ? '' : `${f3(a)}${c ? ` / ${f3(c)}` : ''}`;
    }),
  ];
  return table(
    ['strategy', ...rounds.map((k) => `round ${k} (attacked / clean)`)],
    strategies.map((st) => line(st, find(r, st, attack, attackers), find(r, st, 'none', []))),
  );
}

function refusals(r: AttackLabResult): string {
  const bad = r.runs.filter((x) => x.status !== 'ok' || x.error);
  if (bad.length === 0) return 'None.\n';
  return bad
    .map((x) => `- ${x.strategy} / ${x.attack} (${x.attackers.length} attackers): ${x.status}: ${x.error ?? ''}`)
    .join('\n')
    .concat('\n');
}

/** attack.md. */
export function attackMarkdown(r: AttackLabResult, charts: string[] = []): string {
  const s = r.settings;
  const out: string[] = [];
  out.push('# Attack lab\n');
  out.push(
    `${r.banks} banks, ${r.rounds} rounds, the real aggregator and bank clients over loopback sockets; hostile banks ` +
      'act through the research bank client (a relay rewriting their updates, or poisoned training files).\n',
  );
  out.push(describeData(r.experiment));
  out.push(
    `\nSettings: byzantineF ${s.byzantineF} (krum, multikrum, bulyan), trimFraction ${s.trimFraction}, clipRadius ${s.clipRadius} ` +
      `(× ${s.clipIterations}), maxUpdateNorm ${s.maxUpdateNorm}; sign flip −${s.signFlipScale}Δ, Gaussian σ = ${s.gaussianSigma} × rms(Δ), ` +
      `backdoor boost ×${s.backdoorBoost} with ${s.backdoorCopies} triggered copies per fraud row, trigger ${r.trigger.features
        .map((f, i) => `${f} = ${r.trigger.values[i]!.toPrecision(4)}`)
        .join(', ')}.\n`,
  );
  out.push("## Final AUPRC (shared test set) and share of the same strategy's clean run\n");
  out.push(summaryTable(r));
  out.push('\n## Backdoor success rate (triggered test frauds scored legitimate, final round)\n');
  out.push(backdoorTable(r));
  out.push('\n## Exclusions (over all committed rounds)\n');
  out.push(exclusionTable(r));
  for (const sc of scenarios(r).filter((x) => x.attack !== 'none')) {
    out.push(`\n## ${sc.attack}, ${sc.attackers.length} attacker(s): AUPRC per round\n`);
    out.push(perRoundTable(r, sc.attack, sc.attackers));
  }
  out.push('\n## Refused or failed runs\n');
  out.push(refusals(r));
  if (charts.length) {
    out.push('\n## Charts\n');
    for (const c of charts) out.push(`![${c}](${c})\n`);
  }
  return out.join('\n');
}

/** Writes attack.json, attack.md and one AUPRC-per-round chart per attack scenario into `dir`. */
export async function writeAttackReport(
  dir: string,
  r: AttackLabResult,
): Promise<{ md: string; json: string; charts: string[] }> {
  await mkdir(dir, { recursive: true });
  const charts: string[] = [];
  const strategies = strategiesOf(r);
  for (const sc of scenarios(r).filter((x) => x.attack !== 'none')) {
    const series = strategies.flatMap((st, i) => {
      const color = PALETTE[i % PALETTE.length]!;
      const pts = (run: AttackRun | undefined) =>
        (run?.rounds ?? []).filter((q) => q.auprc !== null).map((q, k) => [k + 1, q.auprc!] as const);
      return [
        { name: `${st} attacked`, points: pts(find(r, st, sc.attack, sc.attackers)), color },
        { name: `${st} clean`, points: pts(find(r, st, 'none', [])), color, dashed: true },
      ];
    });
    const name = `attack-${sc.attack}-${sc.attackers.length}.svg`;
    await writeFile(
      path.join(dir, name),
      lineChart({
        title: `AUPRC per round: ${sc.attack}, ${sc.attackers.length} of ${r.banks} banks hostile`,
        xLabel: 'round',
        yLabel: 'AUPRC',
        series,
        yMin: 0,
      }),
    );
    charts.push(name);
  }
  const json = path.join(dir, 'attack.json');
  const md = path.join(dir, 'attack.md');
  await writeJson(json, r);
  await writeFile(md, attackMarkdown(r, charts));
  return { md, json, charts };
}
