/**
 * The picture: one SVG panel per dashboard panel, laid out by its gridPos, pure. Hand-written SVG: it
 * mirrors Grafana's own layout (a 24-column grid, the panels' units and legends) for the README; chart
 * libraries (Chartist, Vega) either need a browser DOM or would own the layout, and the output is a
 * committed file, reviewed as text.
 */
import { panelSeries, type PanelSeries, type PanelSpec } from './panels';
import { RATE_WINDOW_SEC } from './promql';
import { SANDBOX_JITTER_MS, SANDBOX_LATENCY_MS, type SnapshotRun } from './run';

export const PALETTE = [
  '#1f78c1',
  '#e0752d',
  '#37872d',
  '#c4162a',
  '#8f3bb8',
  '#b8860b',
  '#0e8a8a',
  '#6e6e6e',
  '#e05fa6',
  '#5a7d1f',
  '#2c4f9e',
  '#9c5a1a',
];
const WIDTH = 1560;
const GRID_COLUMN_PX = WIDTH / 24;
const GRID_ROW_PX = 42;
const HEADER_PX = 92;
const PAD = 8;
export const FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"';

export const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function formatValue(value: number, unit: string): string {
  const trim = (n: number, digits: number) => String(Number(n.toFixed(digits)));
  if (unit === 's')
    return value === 0 ? '0' : value < 1 ? `${trim(value * 1000, value < 0.01 ? 1 : 0)} ms` : `${trim(value, 2)} s`;
  if (unit === 'reqps') return `${trim(value, value < 10 ? 2 : 1)}/s`;
  return trim(value, 2);
}

/** A round tick step giving at most 5 intervals up to `max`. */
export function niceStep(max: number): number {
  if (max <= 0) return 0.25;
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= raw)! * magnitude;
}

function renderPanel(panel: PanelSpec, series: PanelSeries[], times: number[], durationSec: number): string {
  const x = panel.gridPos.x * GRID_COLUMN_PX + PAD / 2;
  const y = HEADER_PX + panel.gridPos.y * GRID_ROW_PX + PAD / 2;
  const w = panel.gridPos.w * GRID_COLUMN_PX - PAD;
  const h = panel.gridPos.h * GRID_ROW_PX - PAD;
  const out: string[] = [`<g transform="translate(${x.toFixed(1)},${y.toFixed(1)})">`];
  out.push(`<rect width="${w.toFixed(1)}" height="${h}" rx="4" fill="#ffffff" stroke="#d8d9da"/>`);
  out.push(`<text x="10" y="20" font-size="14" font-weight="bold" fill="#1f2328">${escapeXml(panel.title)}</text>`);

  const shown = series.slice(0, 8);
  const legendRows = Math.ceil(Math.max(shown.length, 1) / 2) + (series.length > shown.length ? 1 : 0);
  const plot = { left: 62, top: 34, right: w - 14, bottom: h - 26 - legendRows * 16 };
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const step = niceStep(Math.max(0, ...values, ...panel.thresholds.map((t) => t * 1.1)));
  const ticks = Math.max(1, Math.ceil(Math.max(0, ...values, ...panel.thresholds.map((t) => t * 1.1)) / step - 1e-9));
  const yMax = step * ticks;
  const px = (t: number) =>
    plot.left + (Math.min(Math.max(t, 0), durationSec) / durationSec) * (plot.right - plot.left);
  const py = (v: number) => plot.bottom - (v / yMax) * (plot.bottom - plot.top);

  for (let i = 0; i <= ticks; i++) {
    const v = step * i;
    out.push(
      `<line x1="${plot.left}" x2="${plot.right.toFixed(1)}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="${i === 0 ? '#9a9b9c' : '#ececec'}"/>`,
    );
    out.push(
      `<text x="${plot.left - 6}" y="${(py(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#555">${escapeXml(formatValue(v, panel.unit))}</text>`,
    );
  }
  const tickEvery = durationSec > 40 ? 10 : 5;
  for (let t = 0; t <= durationSec; t += tickEvery) {
    out.push(
      `<text x="${px(t).toFixed(1)}" y="${plot.bottom + 15}" font-size="11" text-anchor="middle" fill="#555">${t} s</text>`,
    );
  }
  for (const threshold of panel.thresholds) {
    out.push(
      `<line x1="${plot.left}" x2="${plot.right.toFixed(1)}" y1="${py(threshold).toFixed(1)}" y2="${py(threshold).toFixed(1)}" stroke="#c4162a" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${(plot.right - 4).toFixed(1)}" y="${(py(threshold) - 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#c4162a">${escapeXml(formatValue(threshold, panel.unit))}</text>`,
    );
  }
  if (values.length === 0) {
    out.push(
      `<text x="${((plot.left + plot.right) / 2).toFixed(1)}" y="${((plot.top + plot.bottom) / 2).toFixed(1)}" font-size="13" text-anchor="middle" fill="#777">No data: none in this run</text>`,
    );
  }
  shown.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    let d = '';
    let pen = false;
    s.values.forEach((v, at) => {
      if (v === null || !Number.isFinite(v)) return void (pen = false);
      d += `${pen ? 'L' : 'M'}${px(times[at]!).toFixed(1)},${py(v).toFixed(1)}`;
      pen = true;
    });
    if (d !== '') out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8" stroke-linejoin="round"/>`);
    const finite = s.values.filter((v): v is number => v !== null && Number.isFinite(v));
    const peak = finite.length > 0 ? Math.max(...finite) : 0;
    const lx = 10 + (i % 2) * ((w - 20) / 2);
    const ly = plot.bottom + 34 + Math.floor(i / 2) * 16;
    out.push(`<rect x="${lx.toFixed(1)}" y="${ly - 8}" width="12" height="3" fill="${color}"/>`);
    out.push(
      `<text x="${(lx + 17).toFixed(1)}" y="${ly}" font-size="11" fill="#333">${escapeXml(`${s.name}  (max ${formatValue(peak, panel.unit)})`)}</text>`,
    );
  });
  if (series.length > shown.length) {
    out.push(
      `<text x="10" y="${plot.bottom + 34 + Math.ceil(shown.length / 2) * 16}" font-size="11" fill="#777">+ ${series.length - shown.length} more series</text>`,
    );
  }
  out.push('</g>');
  return out.join('\n');
}

export function renderDashboardSvg(
  dashboard: { title: string; panels: PanelSpec[] },
  run: SnapshotRun,
  dashboardPath: string,
): string {
  const times = run.scrapes.map((s) => s.atSec);
  const rows = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const height = HEADER_PX + rows * GRID_ROW_PX + PAD;
  const served = Object.entries(run.counts)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  const subtitle = [
    `The panels of ${dashboardPath}, evaluated over 1 s scrapes of the gateway's admin /metrics (rates over ${RATE_WINDOW_SEC} s), during a real ${run.durationSec} s run on ${run.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    `In one process on 127.0.0.1 (${run.machine.cpuCount} CPUs, load average ${run.machine.loadAverage.toFixed(1)}): the sandbox (${SANDBOX_LATENCY_MS} ms + up to ${SANDBOX_JITTER_MS} ms), one gateway (memory schedule; 30 reads/s + 5 writes/s at safety 0.95) and an open-loop load:`,
    `reads 15/s, 45/s from 25% to 75% of the run, then 15/s; 2 writes/s; 4 operator reads/s; 1 denied write/s, 1 request/s without a token, 0.5/s with a forged one.`,
    `Answers by kind and status: ${served}. The sandbox admitted at most ${run.upstream.maxReadsInAnySecond} reads and ${run.upstream.maxWritesInAnySecond} writes in any 1 s (sliding) and answered ${run.upstream.rejected} requests 429.`,
  ];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${height}" fill="#f4f5f5"/>`,
    `<text x="${PAD}" y="24" font-size="19" font-weight="bold" fill="#1f2328">${escapeXml(`${dashboard.title}: dashboard panels from a real run`)}</text>`,
    ...subtitle.map(
      (line, i) => `<text x="${PAD}" y="${44 + i * 15}" font-size="11.5" fill="#444">${escapeXml(line)}</text>`,
    ),
    ...dashboard.panels.map((panel) => renderPanel(panel, panelSeries(panel, run.scrapes), times, run.durationSec)),
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}
