/** The self-written SVG chart writer: well-formed XML, one marker per point, bars per category. */
import { describe, expect, it } from 'vitest';
import { barChart, lineChart, niceTicks } from '../src/svg.js';

/** A small well-formedness check: balanced tags, quoted attributes, one root <svg>. */
function assertWellFormedSvg(svg: string): void {
  const body = svg.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let roots = 0;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < body.length) {
    tag.lastIndex = pos;
    m = tag.exec(body);
    if (!m) throw new Error(`malformed markup at ${pos}: ${body.slice(pos, pos + 60)}`);
    pos = tag.lastIndex;
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[5])) throw new Error(`unescaped & in text: ${m[5]}`);
      if (stack.length === 0 && m[5].trim() !== '') throw new Error('text outside the root element');
      continue;
    }
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`unexpected </${name}>`);
    } else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  expect(body.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
}

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

describe('SVG charts', () => {
  it('draws a line chart with one marker per point and reference lines', () => {
    const svg = lineChart({
      title: 'AUPRC per round <federated & centralized>',
      xLabel: 'round',
      yLabel: 'AUPRC',
      series: [
        { name: 'federated', points: Array.from({ length: 20 }, (_, i) => [i + 1, 0.5 + i * 0.02] as const) },
        {
          name: 'other',
          points: [
            [1, 0.3],
            [2, NaN],
            [3, 0.4],
          ],
        },
      ],
      refLines: [
        { name: 'centralized', y: 0.9 },
        { name: 'local mean', y: 0.6 },
      ],
    });
    assertWellFormedSvg(svg);
    expect(count(svg, /<circle class="point"/g)).toBe(22); // NaN skipped
    expect(count(svg, /<polyline /g)).toBe(2);
    expect(count(svg, /class="ref-line"/g)).toBe(2);
    expect(svg).toContain('&lt;federated &amp; centralized&gt;');
    const first = /<polyline points="([^"]+)"/.exec(svg)![1]!.split(' ');
    expect(first).toHaveLength(20);
    // y grows upwards: later, larger values sit higher (smaller y coordinate).
    expect(Number(first[19]!.split(',')[1])).toBeLessThan(Number(first[0]!.split(',')[1]));
  });

  it('draws stacked bars, one rect per value', () => {
    const svg = barChart({
      title: 'Bytes',
      xLabel: 'round',
      yLabel: 'bytes',
      categories: ['1', '2', '3'],
      series: [
        { name: 'up', values: [1e5, 2e5, 3e5] },
        { name: 'down', values: [4e5, 4e5, 4e5] },
      ],
    });
    assertWellFormedSvg(svg);
    expect(count(svg, /<rect class="bar"/g)).toBe(6);
    expect(() =>
      barChart({ title: 't', xLabel: 'x', yLabel: 'y', categories: ['1'], series: [{ name: 'a', values: [1, 2] }] }),
    ).toThrow(/2 values for 1 categories/);
  });

  it('handles a single point and a flat series', () => {
    const svg = lineChart({ title: 'one', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[1, 0.5]] }] });
    assertWellFormedSvg(svg);
    expect(count(svg, /<circle class="point"/g)).toBe(1);
    expect(svg).not.toContain('NaN');
  });

  it('picks nice ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.61, 0.69, 4)).toEqual([0.6, 0.62, 0.64, 0.66, 0.68, 0.7]);
  });
});
