/** The dashboard file (deploy/grafana/dashboards/strettch-gateway.json): its panels, and their series over a run. */
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../repo-root';
import { evaluate, labelKey, parseQuery, type Scrape } from './promql';

export const DASHBOARD_FILE = path.join(REPO_ROOT, 'deploy/grafana/dashboards/strettch-gateway.json');

export interface PanelSpec {
  title: string;
  unit: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Array<{ expr: string; legendFormat: string }>;
  /** Threshold lines (Grafana thresholdsStyle "line"). */
  thresholds: number[];
}

interface DashboardJson {
  title: string;
  panels: Array<{
    title: string;
    gridPos: PanelSpec['gridPos'];
    targets: Array<{ expr: string; legendFormat?: string }>;
    fieldConfig?: {
      defaults?: {
        unit?: string;
        custom?: { thresholdsStyle?: { mode?: string } };
        thresholds?: { steps?: Array<{ value: number | null }> };
      };
    };
  }>;
}

export function readDashboard(file: string): { title: string; panels: PanelSpec[] } {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as DashboardJson;
  return {
    title: json.title,
    panels: json.panels.map((panel) => {
      const defaults = panel.fieldConfig?.defaults;
      const lines = defaults?.custom?.thresholdsStyle?.mode === 'line';
      return {
        title: panel.title,
        unit: defaults?.unit ?? 'short',
        gridPos: panel.gridPos,
        targets: panel.targets.map((t) => ({ expr: t.expr, legendFormat: t.legendFormat ?? '' })),
        thresholds: lines
          ? (defaults?.thresholds?.steps ?? []).flatMap((s) => (s.value === null ? [] : [s.value]))
          : [],
      };
    }),
  };
}

export interface PanelSeries {
  name: string;
  /** One value per scrape; null where the query had none. */
  values: Array<number | null>;
}

export function panelSeries(panel: PanelSpec, scrapes: readonly Scrape[]): PanelSeries[] {
  const series = new Map<string, Array<number | null>>();
  panel.targets.forEach((target) => {
    const query = parseQuery(target.expr);
    scrapes.forEach((_, at) => {
      for (const { labels, value } of evaluate(query, scrapes, at)) {
        const name =
          target.legendFormat.replace(/\{\{\s*([a-zA-Z_]+)\s*\}\}/g, (_m, l: string) => labels[l] ?? '').trim() ||
          labelKey(labels);
        const values = series.get(name) ?? scrapes.map(() => null);
        values[at] = value;
        series.set(name, values);
      }
    });
  });
  return [...series.entries()].map(([name, values]) => ({ name, values }));
}
