/**
 * The chart (pure): latency p50 and p99 through the gateways (solid) and straight to the sandbox
 * (dashed), and the largest replica's RSS, against the number of callers, one line per accounts
 * value. Hand-written SVG on the dashboard's palette and ticks (bench/dashboard/render.ts), for the
 * same reasons: a few lines, committed, reviewed as text.
 */
import { escapeXml, FONT, niceStep, PALETTE } from '../dashboard/render';
import type { PointFigures, ScaleReport } from './report';

const PANEL_W = 380;
const PANEL_H = 260;
const GAP = 16;
const HEADER_H = 64;
const LEGEND_H = 26;
const PLOT = { left: 52, right: 16, top: 34, bottom: 40 };

interface PanelSpec {
  title: string;
  unit: string;
  value(f: PointFigures): number;
  baseline?(f: PointFigures): number;
}

const PANELS: readonly PanelSpec[] = [
  { title: 'Latency p50', unit: 'ms', value: (f) => f.p50Ms, baseline: (f) => f.baselineP50Ms },
  { title: 'Latency p99', unit: 'ms', value: (f) => f.p99Ms, baseline: (f) => f.baselineP99Ms },
  { title: 'Largest replica RSS after the phase', unit: 'MB', value: (f) => Math.max(...f.rssEndMb) },
];

export function renderChart(report: ScaleReport): string {
  const callers = [...new Set(report.points.map((f) => f.callers))].sort((a, b) => a - b);
  const accounts = [...new Set(report.points.map((f) => f.accounts))].sort((a, b) => a - b);
  const width = PANELS.length * PANEL_W + (PANELS.length + 1) * GAP;
  const height = HEADER_H + PANEL_H + LEGEND_H + GAP;
  const { settings, machine } = report;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="${width}" height="${height}" fill="#f4f5f5"/>`,
    `<text x="${GAP}" y="24" font-size="17" font-weight="bold" fill="#1f2328">bench:scale — cost as callers and accounts grow</text>`,
    `<text x="${GAP}" y="44" font-size="11.5" fill="#444">${escapeXml(
      `${settings.ratePerSec} requests/s open loop, ${settings.phaseSec} s per phase or until every caller is reached, each request from the next caller; 3 gateways, one redis-server, the sandbox at 20 ms; ${machine.cpuCount} CPUs, run ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC.`,
    )}</text>`,
    `<text x="${GAP}" y="58" font-size="11.5" fill="#444">Solid: through the gateways; dashed: straight to the sandbox at the same rate (the baseline). x: callers (log scale).</text>`,
  ];
  PANELS.forEach((panel, i) =>
    out.push(renderPanel(panel, report.points, callers, accounts, GAP + i * (PANEL_W + GAP), HEADER_H)),
  );
  accounts.forEach((a, i) => {
    const x = GAP + i * 150;
    const y = HEADER_H + PANEL_H + 18;
    out.push(`<rect x="${x}" y="${y - 8}" width="14" height="3" fill="${PALETTE[i % PALETTE.length]}"/>`);
    out.push(`<text x="${x + 19}" y="${y}" font-size="11.5" fill="#333">${a} account${a === 1 ? '' : 's'}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function renderPanel(
  panel: PanelSpec,
  points: readonly PointFigures[],
  callers: readonly number[],
  accounts: readonly number[],
  x: number,
  y: number,
): string {
  const out = [`<g transform="translate(${x},${y})">`];
  out.push(`<rect width="${PANEL_W}" height="${PANEL_H}" rx="4" fill="#ffffff" stroke="#d8d9da"/>`);
  out.push(`<text x="10" y="20" font-size="13" font-weight="bold" fill="#1f2328">${escapeXml(panel.title)}</text>`);
  const plot = { left: PLOT.left, right: PANEL_W - PLOT.right, top: PLOT.top, bottom: PANEL_H - PLOT.bottom };
  const values = points
    .flatMap((f) => [panel.value(f), ...(panel.baseline ? [panel.baseline(f)] : [])])
    .filter(Number.isFinite);
  const step = niceStep(Math.max(0, ...values));
  const ticks = Math.max(1, Math.ceil(Math.max(0, ...values) / step - 1e-9));
  const yMax = step * ticks;
  const logMin = Math.log10(callers[0]!);
  const logSpan = Math.log10(callers[callers.length - 1]!) - logMin;
  const px = (c: number) =>
    logSpan === 0
      ? (plot.left + plot.right) / 2
      : plot.left + ((Math.log10(c) - logMin) / logSpan) * (plot.right - plot.left);
  const py = (v: number) => plot.bottom - (v / yMax) * (plot.bottom - plot.top);
  for (let i = 0; i <= ticks; i++) {
    const v = step * i;
    out.push(
      `<line x1="${plot.left}" x2="${plot.right}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="${i === 0 ? '#9a9b9c' : '#ececec'}"/>`,
      `<text x="${plot.left - 6}" y="${(py(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#555">${Number(v.toFixed(2))} ${panel.unit}</text>`,
    );
  }
  for (const c of callers)
    out.push(
      `<text x="${px(c).toFixed(1)}" y="${plot.bottom + 16}" font-size="11" text-anchor="middle" fill="#555">${c.toLocaleString('en-US')}</text>`,
    );
  out.push(
    `<text x="${(plot.left + plot.right) / 2}" y="${plot.bottom + 32}" font-size="11" text-anchor="middle" fill="#555">callers</text>`,
  );
  accounts.forEach((a, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const row = points.filter((f) => f.accounts === a).sort((p, q) => p.callers - q.callers);
    const line = (value: (f: PointFigures) => number, dashed: boolean) => {
      const shown = row.filter((f) => Number.isFinite(value(f)));
      if (shown.length === 0) return;
      const d = shown.map((f, k) => `${k === 0 ? 'M' : 'L'}${px(f.callers).toFixed(1)},${py(value(f)).toFixed(1)}`);
      out.push(
        `<path d="${d.join('')}" fill="none" stroke="${color}" stroke-width="1.8"${dashed ? ' stroke-dasharray="5 4"' : ''}/>`,
      );
      for (const f of shown)
        out.push(`<circle cx="${px(f.callers).toFixed(1)}" cy="${py(value(f)).toFixed(1)}" r="2.6" fill="${color}"/>`);
    };
    line(panel.value, false);
    if (panel.baseline) line(panel.baseline, true);
  });
  out.push('</g>');
  return out.join('\n');
}
