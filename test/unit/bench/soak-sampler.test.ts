/**
 * The soak's sampler reads the figures it reports from a real registry with the CLI's process
 * metrics: under their standard names (no project prefix), every one of them is found.
 */
import { sampleFromMetrics } from '../../../bench/soak/sampler';
import { parseExposition } from '../../../bench/prometheus-text';
import { createMetrics } from '../../../src/gateway/observability/metrics';

it("finds the process figures in the gateway's own exposition", async () => {
  const metrics = createMetrics({ collectProcessMetrics: true });
  const sample = sampleFromMetrics(parseExposition(await metrics.registry.metrics()), 0);
  const figures = {
    rssBytes: sample.rssBytes,
    heapUsedBytes: sample.heapUsedBytes,
    heapTotalBytes: sample.heapTotalBytes,
    externalBytes: sample.externalBytes,
    activeResourcesTotal: sample.activeResourcesTotal,
    openFds: sample.openFds,
    cpuSeconds: sample.cpuSeconds,
  };
  for (const [figure, value] of Object.entries(figures))
    expect({ figure, found: Number.isFinite(value) && value > 0 }).toEqual({ figure, found: true });
  expect(Object.keys(sample.activeResources).length).toBeGreaterThan(0);
});
