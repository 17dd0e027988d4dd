/**
 * The chart: requests per second reaching the upstream (the referee's timeline), admitted and
 * answered 429, against the provider's limit; ours beside the baseline, one row per scenario and
 * class, for the first run (`report.chartedRun`). Pure.
 *
 * Hand-written SVG: a few polylines on a fixed grid, committed (bench/results/fleet.svg) and shown in
 * the README. Chart libraries either need a browser DOM (Chartist, d3 through jsdom) or bring a large
 * rendering stack (Vega) to draw what takes these lines, and would restyle a figure the docs describe.
 */
import type { ClassFigures } from './figures';
import { CLASSES } from './figures';
import type { FleetReport } from './report';
import { SCENARIO_TRAITS } from './scenarios';

const PANEL_W = 440;
const PANEL_H = 150;
const MARGIN = { left: 44, right: 12, top: 36, bottom: 26 };
const GAP_X = 24;
const GAP_Y = 18;
const HEADER_H = 64;
const COLORS = {
  admitted: '#3b73b9',
  rejected: '#d62728',
  limit: '#222',
  warmup: '#eeeeee',
  outage: '#fde2c4',
  restart: '#2ca02c',
  limitsSwitch: '#8e44ad',
  grid: '#dddddd',
  text: '#222',
};

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A y-axis top that splits into 4 round ticks. */
function niceMax(value: number): number {
  for (const top of [4, 8, 12, 16, 20, 40, 60, 80, 100, 120, 160, 200, 400]) if (value <= top) return top;
  return Math.ceil(value / 100) * 100;
}

interface PanelSpec {
  x: number;
  y: number;
  title: string;
  figures: ClassFigures;
  durationSec: number;
  warmupSec: number;
  outage?: { fromSec: number; toSec: number };
  /** Restarted replicas: [SIGTERM, listening again] in seconds. */
  restarts?: Array<{ fromSec: number; toSec: number }>;
  /** The provider's limits switched (limits-auto): when, and the new limit. */
  limitsSwitch?: { atSec: number; label: string };
}

function panel(p: PanelSpec): string {
  const plotW = PANEL_W - MARGIN.left - MARGIN.right;
  const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
  const x0 = p.x + MARGIN.left;
  const y0 = p.y + MARGIN.top;
  const limit = p.figures.limitPerSecond;
  const points = p.figures.timeline.filter((t) => t.second >= 0 && t.second <= p.durationSec);
  const peak = Math.max(limit * 1.3, ...points.map((t) => t.admitted + t.rejected));
  const yMax = niceMax(peak);
  const seconds = Math.ceil(p.durationSec) + 1;
  const sx = (s: number) => x0 + (s / seconds) * plotW;
  const sy = (v: number) => y0 + plotH - (v / yMax) * plotH;
  const barW = Math.max(1, plotW / seconds - 1);
  const parts: string[] = [];
  parts.push(
    `<text x="${x0}" y="${p.y + 14}" font-size="12" font-weight="bold" fill="${COLORS.text}">${esc(p.title)}</text>`,
  );
  parts.push(
    `<rect x="${x0}" y="${y0}" width="${(p.warmupSec / seconds) * plotW}" height="${plotH}" fill="${COLORS.warmup}"/>`,
  );
  if (p.outage)
    parts.push(
      `<rect x="${sx(p.outage.fromSec)}" y="${y0}" width="${sx(p.outage.toSec) - sx(p.outage.fromSec)}" height="${plotH}" fill="${COLORS.outage}"/>`,
    );
  for (const r of p.restarts ?? []) {
    parts.push(
      `<rect x="${sx(r.fromSec).toFixed(1)}" y="${y0}" width="${Math.max(1, sx(r.toSec) - sx(r.fromSec)).toFixed(1)}" height="${plotH}" fill="${COLORS.restart}" fill-opacity="0.25"/>`,
    );
  }
  if (p.limitsSwitch) {
    const x = sx(p.limitsSwitch.atSec).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${y0}" y2="${y0 + plotH}" stroke="${COLORS.limitsSwitch}" stroke-width="1.5"/>`,
    );
    parts.push(
      `<text x="${(Number(x) + 3).toFixed(1)}" y="${y0 + 10}" font-size="9" fill="${COLORS.limitsSwitch}">${esc(p.limitsSwitch.label)}</text>`,
    );
  }
  const yStep = yMax / 4;
  for (let i = 0; i <= 4; i++) {
    const v = i * yStep;
    parts.push(
      `<line x1="${x0}" x2="${x0 + plotW}" y1="${sy(v)}" y2="${sy(v)}" stroke="${COLORS.grid}" stroke-width="0.5"/>`,
    );
    parts.push(
      `<text x="${x0 - 4}" y="${sy(v) + 3}" font-size="9" text-anchor="end" fill="${COLORS.text}">${Math.round(v)}</text>`,
    );
  }
  for (let s = 0; s <= seconds; s += 5)
    parts.push(
      `<text x="${sx(s)}" y="${y0 + plotH + 12}" font-size="9" text-anchor="middle" fill="${COLORS.text}">${s}s</text>`,
    );
  for (const t of points) {
    const x = sx(t.second) + 0.5;
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${sy(t.admitted).toFixed(1)}" width="${barW.toFixed(1)}" height="${(sy(0) - sy(t.admitted)).toFixed(1)}" fill="${COLORS.admitted}"/>`,
    );
    if (t.rejected > 0) {
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${sy(t.admitted + t.rejected).toFixed(1)}" width="${barW.toFixed(1)}" height="${(sy(t.admitted) - sy(t.admitted + t.rejected)).toFixed(1)}" fill="${COLORS.rejected}"/>`,
      );
    }
  }
  parts.push(
    `<line x1="${x0}" x2="${x0 + plotW}" y1="${sy(limit)}" y2="${sy(limit)}" stroke="${COLORS.limit}" stroke-width="1.2" stroke-dasharray="5,3"/>`,
  );
  parts.push(
    `<text x="${x0 + plotW - 2}" y="${sy(limit) - 3}" font-size="9" text-anchor="end" fill="${COLORS.limit}">limit ${limit}/s</text>`,
  );
  parts.push(
    `<rect x="${x0}" y="${y0}" width="${plotW}" height="${plotH}" fill="none" stroke="#999" stroke-width="0.5"/>`,
  );
  const f = p.figures;
  parts.push(
    `<text x="${x0}" y="${p.y + 29}" font-size="10" fill="${f.upstream429 > 0 ? COLORS.rejected : COLORS.text}">upstream 429s ${f.upstream429} · most in any 1 s ${f.maxInSlidingWindow} · utilization ${Number.isFinite(f.utilization) ? (f.utilization * 100).toFixed(1) : 'n/a'} %${p.outage ? ' (outside the outage)' : ''}</text>`,
  );
  return parts.join('\n');
}

export function renderChart(report: FleetReport): string {
  const { durationSec, warmupSec, outageAtSec, outageSec } = report.options;
  const charted = report.runs[report.chartedRun - 1] ?? report.runs[0];
  const rows = (charted?.scenarios ?? []).flatMap((s) => CLASSES.map((kind) => ({ s, kind })));
  const width = MARGIN.left + 2 * PANEL_W + GAP_X;
  const height = HEADER_H + rows.length * (PANEL_H + GAP_Y);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
  );
  parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  parts.push(
    `<text x="${MARGIN.left}" y="20" font-size="15" font-weight="bold" fill="${COLORS.text}">Requests per second reaching the upstream (sandbox referee), per key and class; run ${charted?.run ?? 1} of ${report.runs.length}</text>`,
  );
  parts.push(
    `<text x="${MARGIN.left}" y="38" font-size="11" fill="${COLORS.text}">left: 3 gateways, shared schedule (safety ${report.setup.gateways.safety}); right: baseline RateLimiterRedis 30/5 per 1 s. ` +
      `Blue admitted, red answered 429 by the provider, dashed: the limit.</text>`,
  );
  parts.push(
    `<text x="${MARGIN.left}" y="54" font-size="11" fill="${COLORS.text}">Grey: warm-up (not in utilization); orange: Redis killed; green: a replica restarting; purple: the provider's limits switch. Per whole second of the referee's clock; other 1 s windows can hold more.</text>`,
  );
  rows.forEach(({ s, kind }, row) => {
    const y = HEADER_H + row * (PANEL_H + GAP_Y);
    const traits = SCENARIO_TRAITS[s.name];
    const scenario = traits.window === 'fixed' ? `${traits.title}, phase ${s.windowPhaseMs} ms` : traits.title;
    const outage = traits.killsRedis ? { fromSec: outageAtSec, toSec: outageAtSec + outageSec } : undefined;
    for (const [column, who, phase] of [
      [0, 'ours', s.ours],
      [1, 'baseline', s.baseline],
    ] as const) {
      const restarts = phase.restarts?.map((r) => ({ fromSec: r.stoppedAtMs / 1000, toSec: r.listeningAtMs / 1000 }));
      const sw = phase.limitsSwitch;
      const limitsSwitch = sw
        ? {
            atSec: sw.switchAtMs / 1000,
            label: `provider → ${Object.entries(sw.limitsPerSecond)
              .map(([c, n]) => `${n}/s ${c}`)
              .join(', ')}; adapted +${sw.adaptation.adaptationMs} ms`,
          }
        : undefined;
      parts.push(
        panel({
          x: column * (PANEL_W + GAP_X),
          y,
          title: `${who === 'ours' ? 'ours (shared schedule)' : 'baseline (RateLimiterRedis)'} · ${scenario} · ${kind}s`,
          figures: phase.figures[kind],
          durationSec,
          warmupSec,
          ...(outage ? { outage } : {}),
          ...(restarts ? { restarts } : {}),
          ...(limitsSwitch ? { limitsSwitch } : {}),
        }),
      );
    }
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
