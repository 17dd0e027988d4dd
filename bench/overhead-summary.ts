/**
 * Several runs of bench:overhead as one published figure each: the median of the runs with their
 * min–max, never the best run (issue #15). Pure: the runs' reports come in, the summary document,
 * its printed table and its chart go out.
 */
import { escapeXml, FONT, niceStep, PALETTE } from './dashboard/render';
import { median } from './latency-stats';
import { COMPARISONS, type ComparisonName, type Goal, type MachineInfo, type OverheadReport } from './overhead-report';
import { REDIS_TARGETS, TARGET_NAMES, type PhaseMeasurement, type TargetName } from './overhead-run';

/** A figure over the runs. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  /** One per run, in run order. */
  values: number[];
}

export interface GoalSummary extends Omit<Goal, 'value' | 'pass'> {
  spread: Spread;
  /** Judged on the median of the runs. */
  pass: boolean;
}

export interface ComparisonSummary {
  concurrency: number;
  comparison: ComparisonName;
  p50Latency: Spread;
  throughput: Spread;
  proxyCpuPerRequest: Spread;
  meanDifferenceMs: Spread;
}

export interface OverheadSummary {
  benchmark: 'overhead-summary';
  date: string;
  machine: MachineInfo;
  parameters: OverheadReport['parameters'];
  /** The runs' own reports, relative to the repository, in run order. */
  runs: string[];
  goals: GoalSummary[];
  comparisons: ComparisonSummary[];
  /** Proxy-thread CPU per request in µs, per target and load: what the ratios are made of. */
  proxyCpuUs: Array<{ concurrency: number; target: string; spread: Spread }>;
  /** The redis-server's CPU per request in µs, per Redis target and load: the rest of what they cost the machine. */
  redisCpuUs: Array<{ concurrency: number; target: string; spread: Spread }>;
}

export function spreadOf(values: readonly number[]): Spread {
  const finite = values.filter(Number.isFinite);
  return {
    median: finite.length > 0 ? median(finite) : Number.NaN,
    min: finite.length > 0 ? Math.min(...finite) : Number.NaN,
    max: finite.length > 0 ? Math.max(...finite) : Number.NaN,
    values: [...values],
  };
}

/** The median of an even count is the mean of the middle two: a figure no single run may show, and says so. */
export function summarizeRuns(runs: ReadonlyArray<{ file: string; report: OverheadReport }>): OverheadSummary {
  if (runs.length === 0) throw new RangeError('summarizeRuns: no runs');
  const first = runs[0]!.report;
  const goals = first.goals.map((goal, i) => {
    const spread = spreadOf(runs.map((r) => r.report.goals[i]?.value ?? Number.NaN));
    const pass = goal.operator === '<=' ? spread.median <= goal.limit : spread.median >= goal.limit;
    return {
      name: goal.name,
      concurrency: goal.concurrency,
      comparison: goal.comparison,
      figure: goal.figure,
      operator: goal.operator,
      limit: goal.limit,
      spread,
      pass,
    };
  });
  const comparisons = first.loads.flatMap((load, l) =>
    COMPARISONS.map((c) => {
      const of = (figure: 'p50Latency' | 'throughput' | 'proxyCpuPerRequest' | 'meanDifferenceMs') =>
        spreadOf(runs.map((r) => r.report.loads[l]?.comparisons[c.name][figure] ?? Number.NaN));
      return {
        concurrency: load.concurrency,
        comparison: c.name,
        p50Latency: of('p50Latency'),
        throughput: of('throughput'),
        proxyCpuPerRequest: of('proxyCpuPerRequest'),
        meanDifferenceMs: of('meanDifferenceMs'),
      };
    }),
  );
  const perTarget = (targets: readonly TargetName[], figure: (m: PhaseMeasurement) => number) =>
    first.loads.flatMap((load, l) =>
      targets.map((target) => ({
        concurrency: load.concurrency,
        target,
        spread: spreadOf(
          runs.map((r) => {
            const measured = r.report.loads[l]?.targets[target].median;
            return measured === undefined ? Number.NaN : figure(measured);
          }),
        ),
      })),
    );
  const proxyCpuUs = perTarget(
    TARGET_NAMES.filter((target) => target !== 'direct'),
    (m) => m.cpuUsPerRequest.front,
  );
  const redisCpuUs = perTarget(REDIS_TARGETS, (m) => m.redisCpuUsPerRequest);
  return {
    benchmark: 'overhead-summary',
    date: first.date,
    machine: first.machine,
    parameters: first.parameters,
    runs: runs.map((r) => r.file),
    goals,
    comparisons,
    proxyCpuUs,
    redisCpuUs,
  };
}

/** Rounded for print; a rounding residue below zero prints as 0, not -0. */
const fixed = (value: number, digits: number) =>
  Number.isFinite(value) ? value.toFixed(digits).replace(/^-(0\.?0*)$/, '$1') : 'n/a';
const spreadText = (s: Spread, digits: number) =>
  `${fixed(s.median, digits)} (${fixed(s.min, digits)}–${fixed(s.max, digits)})`;

export function formatSummary(summary: OverheadSummary): string {
  const rows = [
    ['goal', `median of ${summary.runs.length} runs (min–max)`, 'result'],
    ...summary.goals.map((g) => [
      g.name,
      spreadText(g.spread, g.figure === 'meanDifferenceMs' ? 3 : 2),
      g.pass ? 'PASS' : 'FAIL',
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const table = rows.map((row) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
  const cpu = [
    ...summary.proxyCpuUs.map(
      (p) => `  ${p.concurrency} in flight, ${p.target}: ${spreadText(p.spread, 0)} µs proxy CPU per request`,
    ),
    ...summary.redisCpuUs.map(
      (p) => `  ${p.concurrency} in flight, ${p.target}: ${spreadText(p.spread, 0)} µs redis-server CPU per request`,
    ),
  ];
  const floor = summary.comparisons
    .filter((c) => c.concurrency === 1 && FLOOR_LINES.some((f) => f.comparison === c.comparison))
    .map(
      (c) =>
        `  ${FLOOR_LINES.find((f) => f.comparison === c.comparison)!.label}: ${spreadText(c.meanDifferenceMs, 3)} ms`,
    );
  return [
    `overhead bench — ${summary.runs.length} runs: ${summary.runs.join(', ')}`,
    '',
    ...table,
    '',
    ...cpu,
    ...(floor.length > 0 ? ['', '1 in flight, mean added:', ...floor] : []),
  ].join('\n');
}

/** What the Redis gateway's added time at one in flight is made of: the round trip, then the schedule's own work. */
const FLOOR_LINES = [
  { comparison: 'redisRoundTripToPassthrough', label: 'one no-op Redis script call over the passthrough (the floor)' },
  {
    comparison: 'redisGatewayToRoundTrip',
    label: 'gateway (Redis schedule, round trip before every request: no prefetch) over that floor',
  },
  { comparison: 'redisGatewayToUnprefetched', label: 'gateway (Redis schedule) against the same without prefetch' },
] as const;

/** The chart's panels: the goals' figures, one bar per gateway (median, whisker min–max), the goal as a line. */
const PANELS = [
  { figure: 'meanDifferenceMs', title: '1 in flight: mean added', unit: 'ms', loaded: false },
  { figure: 'p50Latency', title: 'Loaded: p50 ÷ passthrough', unit: '×', loaded: true },
  { figure: 'throughput', title: 'Loaded: throughput ÷ passthrough', unit: '×', loaded: true },
  { figure: 'proxyCpuPerRequest', title: 'Loaded: proxy CPU ÷ passthrough', unit: '×', loaded: true },
] as const;

const BARS = [
  { comparison: 'gatewayToPassthrough', label: 'gateway, schedule in memory' },
  { comparison: 'redisGatewayToPassthrough', label: 'gateway, schedule in Redis' },
  { comparison: 'unprefetchedRedisGatewayToPassthrough', label: 'the same, no prefetch' },
  { comparison: 'redisRoundTripToPassthrough', label: 'passthrough + one Redis round trip' },
] as const;

/** The palette's red is the goal line's: bars skip it. */
const barColor = (i: number) => PALETTE.filter((c) => c !== '#c4162a')[i];

const PANEL_W = 300;
const PANEL_H = 250;
const GAP = 16;
const HEADER_H = 64;
const LEGEND_H = 26;
const PLOT = { left: 46, right: 12, top: 34, bottom: 20 };

export function renderOverheadChart(summary: OverheadSummary): string {
  const width = PANELS.length * PANEL_W + (PANELS.length + 1) * GAP;
  const height = HEADER_H + PANEL_H + LEGEND_H + GAP;
  const loaded = Math.max(...summary.comparisons.map((c) => c.concurrency));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="${width}" height="${height}" fill="#f4f5f5"/>`,
    `<text x="${GAP}" y="24" font-size="17" font-weight="bold" fill="#1f2328">bench:overhead — what the gateway adds over a bare proxy</text>`,
    `<text x="${GAP}" y="44" font-size="11.5" fill="#444">${escapeXml(
      `${summary.parameters.request}; bars: median of ${summary.runs.length} runs, whiskers: min–max; dashed: the goal. Loaded = ${loaded} in flight. ${summary.machine.cpuCount} CPUs, ${summary.date.slice(0, 16).replace('T', ' ')} UTC.`,
    )}</text>`,
  ];
  PANELS.forEach((panel, i) => {
    const concurrency = panel.loaded ? loaded : 1;
    const goal = summary.goals.find((g) => g.figure === panel.figure && g.concurrency === concurrency);
    const spreads = BARS.map(
      (bar) =>
        summary.comparisons.find((c) => c.comparison === bar.comparison && c.concurrency === concurrency)?.[
          panel.figure
        ],
    );
    out.push(renderPanel(panel.title, panel.unit, spreads, goal?.limit, GAP + i * (PANEL_W + GAP), HEADER_H));
  });
  BARS.forEach((bar, i) => {
    const x = GAP + i * 300;
    const y = HEADER_H + PANEL_H + 18;
    out.push(`<rect x="${x}" y="${y - 10}" width="14" height="10" fill="${barColor(i)}"/>`);
    out.push(`<text x="${x + 19}" y="${y}" font-size="11.5" fill="#333">${escapeXml(bar.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function renderPanel(
  title: string,
  unit: string,
  spreads: ReadonlyArray<Spread | undefined>,
  goal: number | undefined,
  x: number,
  y: number,
): string {
  const plotW = PANEL_W - PLOT.left - PLOT.right;
  const plotH = PANEL_H - PLOT.top - PLOT.bottom;
  const top = Math.max(goal ?? 0, ...spreads.map((s) => (s && Number.isFinite(s.max) ? s.max : 0))) * 1.15;
  const step = niceStep(top);
  const yMax = Math.max(step, Math.ceil(top / step) * step);
  const yOf = (v: number) => PLOT.top + plotH - (Math.max(0, v) / yMax) * plotH;
  const out = [
    `<g transform="translate(${x},${y})">`,
    `<rect width="${PANEL_W}" height="${PANEL_H}" rx="4" fill="#ffffff" stroke="#d8d9da"/>`,
    `<text x="10" y="20" font-size="12.5" font-weight="bold" fill="#1f2328">${escapeXml(title)}</text>`,
  ];
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    const ty = yOf(v).toFixed(1);
    out.push(`<line x1="${PLOT.left}" x2="${PANEL_W - PLOT.right}" y1="${ty}" y2="${ty}" stroke="#eceded"/>`);
    const label = `${Number(v.toFixed(3))}${unit === 'ms' ? ' ms' : ''}`;
    out.push(
      `<text x="${PLOT.left - 6}" y="${ty}" dy="4" font-size="10.5" fill="#555" text-anchor="end">${label}</text>`,
    );
  }
  const slot = plotW / spreads.length;
  spreads.forEach((s, i) => {
    if (s === undefined || !Number.isFinite(s.median)) return;
    const cx = PLOT.left + slot * (i + 0.5);
    const barW = slot * 0.5;
    out.push(
      `<rect x="${(cx - barW / 2).toFixed(1)}" y="${yOf(s.median).toFixed(1)}" width="${barW.toFixed(1)}" height="${(yOf(0) - yOf(s.median)).toFixed(1)}" fill="${barColor(i)}"/>`,
      `<line x1="${cx.toFixed(1)}" x2="${cx.toFixed(1)}" y1="${yOf(s.min).toFixed(1)}" y2="${yOf(s.max).toFixed(1)}" stroke="#1f2328" stroke-width="1.5"/>`,
      `<text x="${cx.toFixed(1)}" y="${(yOf(s.max) - 5).toFixed(1)}" font-size="11" fill="#1f2328" text-anchor="middle">${fixed(s.median, unit === 'ms' ? 3 : 2)}</text>`,
    );
  });
  if (goal !== undefined) {
    const gy = yOf(goal).toFixed(1);
    out.push(
      `<line x1="${PLOT.left}" x2="${PANEL_W - PLOT.right}" y1="${gy}" y2="${gy}" stroke="#c4162a" stroke-width="1.5" stroke-dasharray="5 4"/>`,
      `<text x="${PANEL_W - PLOT.right}" y="${(Number(gy) - 4).toFixed(1)}" font-size="10.5" fill="#c4162a" text-anchor="end">goal ${goal}</text>`,
    );
  }
  out.push('</g>');
  return out.join('\n');
}
