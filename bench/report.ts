import {
  FIGURES,
  type FigureKey,
  type FigureResult,
  type Sample,
} from './figures.js';
import { spread } from './stats.js';
import { TARGETS, type Target } from './targets.js';

/** One child's samples, as the progress line shows them. */
export function describeSamples(samples: Sample[]): string {
  return samples
    .map(({ figure, value, system }) => {
      const { label, unit, digits } = FIGURES[figure];
      const owner = system ? ` (${system})` : '';
      const shown =
        unit === '1 = yes'
          ? value === 1
            ? 'yes'
            : 'no'
          : `${value.toFixed(digits)} ${unit}`;
      return `${label}${owner}: ${shown}`;
    })
    .join(', ');
}

/** The samples of one round, by system and figure. */
export type RoundSamples = Map<string, Map<FigureKey, number>>;

export function addSamples(
  round: RoundSamples,
  system: string,
  samples: Sample[],
): void {
  for (const sample of samples) {
    const owner = sample.system ?? system;
    const figures = round.get(owner) ?? new Map<FigureKey, number>();
    figures.set(sample.figure, sample.value);
    round.set(owner, figures);
  }
}

/** One line per system and figure: median, lowest and highest over the rounds. */
export function summarize(
  rounds: RoundSamples[],
  systemOrder: string[],
): (FigureResult & { key: FigureKey })[] {
  const results: (FigureResult & { key: FigureKey })[] = [];
  for (const key of Object.keys(FIGURES) as FigureKey[])
    for (const system of systemOrder) {
      const values = rounds
        .map((round) => round.get(system)?.get(key))
        .filter((value): value is number => value !== undefined);
      if (values.length === 0) continue;
      results.push({
        key,
        system,
        figure: FIGURES[key].label,
        ...spread(values),
        unit: FIGURES[key].unit,
      });
    }
  return results;
}

function format(value: number, digits: number): string {
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/**
 * "≥ 5000: missed by 47%", "≤ 20: missed, 4.2× the bound", "≤ BullMQ:
 * met (0.85×)": the target, and how the median stands against it.
 */
function judge(
  target: Target,
  median: number,
  medianOf: (system: string) => number | undefined,
): string {
  const sign = { '<=': '≤', '>=': '≥', '=': '=' }[target.op];
  let bound = target.value;
  let text = `${sign} ${format(target.value, target.value < 1 ? 2 : 0)}`;
  let ratio = '';
  if (target.relativeTo) {
    const reference = medianOf(target.relativeTo);
    const times = target.value === 1 ? '' : `${target.value}× `;
    text = `${sign} ${times}${target.relativeTo}`;
    if (reference === undefined) return `${text}: not run`;
    bound = target.value * reference;
    ratio = ` (${format(median / reference, 2)}×)`;
  }
  const met =
    target.op === '<='
      ? median <= bound
      : target.op === '>='
        ? median >= bound
        : median === bound;
  if (met) return `${text}: met${ratio}`;
  if (target.op === '=') return `${text}: missed`;
  const off =
    target.op === '>='
      ? `by ${format((1 - median / bound) * 100, 0)}%`
      : median < 2 * bound
        ? `by ${format((median / bound - 1) * 100, 0)}%`
        : `${format(median / bound, 1)}× the bound`;
  return `${text}: missed${target.op === '<=' && median >= 2 * bound ? ',' : ''} ${off}${ratio}`;
}

/** The table the bench prints, and the README shows. */
export function formatTable(
  results: (FigureResult & { key: FigureKey })[],
): string {
  const medianOf = (key: FigureKey) => (system: string) =>
    results.find((r) => r.key === key && r.system === system)?.median;
  const rows = results.map((r) => {
    const digits = FIGURES[r.key].digits;
    const targets = TARGETS.filter(
      (t) => t.figure === r.key && t.system === r.system,
    ).map((t) => judge(t, r.median, medianOf(r.key)));
    return [
      r.figure,
      r.system,
      format(r.median, digits),
      `${format(r.min, digits)}–${format(r.max, digits)}`,
      r.unit,
      targets.join('; ') || '—',
    ];
  });
  const header = ['figure', 'system', 'median', 'range', 'unit', 'target'];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i].length)),
  );
  const right = [false, false, true, true, false, false];
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (right[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
