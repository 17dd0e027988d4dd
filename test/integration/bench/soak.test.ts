/**
 * `npm run bench:soak` (bench/soak*): the classification of responses and the fault
 * reconciliation as tables, then a few seconds of a real soak at a low rate — the compiled gateway
 * and sandbox as processes — checking the report's shape and that every response was classified
 * as its intent says it should be. Nothing here judges timing: that is the bench's job.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileBenchInto, compileProductInto } from '../../helpers/compile-product';
import { createChildGroup, type ChildGroup } from '../../../bench/fleet/children';
import {
  classifyResponse,
  reconcileFaults,
  reconciledKinds,
  zeroKinds,
  KINDS,
  type FaultSign,
  type ResponseFacts,
} from '../../../bench/soak/classify';
import { readEvidenceLine, requestIdPattern } from '../../../bench/soak/fault-evidence';
import { spans } from '../../../bench/soak/figures';
import { INTENTS, intentCycle, MIX, overLimitReadPerSec } from '../../../bench/soak/mix';
import { parseSoakArgs, type SoakOptions } from '../../../bench/soak/options';
import { buildReport, formatReport, reportJson, type SoakReport } from '../../../bench/soak/report';
import { runSoak } from '../../../bench/soak/run';

describe('classifyResponse', () => {
  it.each<[ResponseFacts, string, string | undefined]>([
    [{ status: 200, fromUpstream: true }, 'ok', undefined],
    [{ status: 202, fromUpstream: true }, 'ok', undefined],
    [{ status: 401, fromUpstream: false, code: 'UNAUTHORIZED' }, 'denied-401', undefined],
    [{ status: 403, fromUpstream: false, code: 'FORBIDDEN' }, 'denied-403', undefined],
    [{ status: 429, fromUpstream: false, code: 'TOO_MANY_REQUESTS' }, 'rate-429', undefined],
    // The sandbox's own 500 carries its rate-limit headers; the gateway's would not.
    [{ status: 500, fromUpstream: true, code: 'INTERNAL_SERVER_ERROR' }, 'upstream-fault-5xx', 'upstream-500'],
    [{ status: 500, fromUpstream: false, code: 'INTERNAL_SERVER_ERROR' }, 'unexpected-5xx', undefined],
    [{ status: 502, fromUpstream: false, code: 'UPSTREAM_UNAVAILABLE' }, 'upstream-fault-5xx', 'gateway-502'],
    [{ status: 504, fromUpstream: false, code: 'UPSTREAM_TIMEOUT' }, 'upstream-fault-5xx', 'gateway-504'],
    [{ status: 502, fromUpstream: false }, 'unexpected-5xx', undefined],
    [{ status: 503, fromUpstream: false, code: 'SERVICE_UNAVAILABLE' }, 'unexpected-5xx', undefined],
    [{ status: 400, fromUpstream: false, code: 'BAD_REQUEST' }, 'unexpected-status', undefined],
    [{ status: 404, fromUpstream: true, code: 'RESOURCE_NOT_FOUND' }, 'unexpected-status', undefined],
    [{ status: 0, fromUpstream: false }, 'client-error', undefined],
  ])('%j → %s', (facts, kind, faultSign) => {
    expect(classifyResponse(facts)).toEqual(faultSign === undefined ? { kind } : { kind, faultSign });
  });
});

describe('reconcileFaults', () => {
  const responses: Array<[number, FaultSign]> = [
    [1, 'upstream-500'],
    [2, 'upstream-500'],
    [3, 'gateway-502'],
    [4, 'gateway-502'],
    [5, 'gateway-504'],
  ];

  it('by request id: explains a fault-shaped 5xx only by a fault of its own request', () => {
    const evidence = { error: new Set([1, 2]), drop: new Set([3, 9]), slow: new Set([5]) };
    const reconciliation = reconcileFaults(responses, { error: 2, drop: 40, slow: 1 }, evidence);
    expect(reconciliation).toMatchObject({
      method: 'request-id',
      seen: { 'upstream-500': 2, 'gateway-502': 2, 'gateway-504': 1 },
      unexplained: { 'upstream-500': 0, 'gateway-502': 1, 'gateway-504': 0 },
      unexplainedRequests: [4],
      // The totals alone would have hidden request 4 among the drops that were retried.
      beyondInjected: { 'upstream-500': 0, 'gateway-502': 0, 'gateway-504': 0 },
    });
    const kinds = { ...zeroKinds(), ok: 100, 'upstream-fault-5xx': 5, 'unexpected-5xx': 2 };
    expect(reconciledKinds(kinds, reconciliation)).toEqual({ ...kinds, 'upstream-fault-5xx': 4, 'unexpected-5xx': 3 });
  });

  it("without the sandbox log, bounds each sign by the referee's totals", () => {
    expect(reconcileFaults(responses, { error: 2, drop: 1, slow: 1 })).toMatchObject({
      method: 'count',
      unexplained: { 'upstream-500': 0, 'gateway-502': 1, 'gateway-504': 0 },
    });
  });

  it('reads the faulted requests from the sandbox log lines', () => {
    const sets = { error: new Set<number>(), drop: new Set<number>(), slow: new Set<number>() };
    const pattern = requestIdPattern('soak-ab12cd');
    for (const line of [
      '{"level":30,"requestId":"soak-ab12cd-7","status":500,"delayMs":25,"msg":"sandbox request"}',
      '{"level":30,"requestId":"soak-ab12cd-8","delayMs":22,"fault":"drop","msg":"sandbox request dropped"}',
      '{"level":30,"requestId":"soak-ab12cd-9","status":200,"delayMs":1522,"msg":"sandbox request"}',
      '{"level":30,"requestId":"soak-ab12cd-10","status":200,"delayMs":21,"msg":"sandbox request"}',
      '{"level":30,"requestId":"soak-ab12cd-direct-11","status":500,"delayMs":21,"msg":"sandbox request"}',
      '{"level":50,"requestId":"soak-ab12cd-12","msg":"sandbox operation failed"}',
      'Strettch sandbox listening on http://127.0.0.1:4010',
    ])
      readEvidenceLine(line, pattern, 1500, sets);
    expect(sets).toEqual({ error: new Set([7]), drop: new Set([8]), slow: new Set([9]) });
  });
});

describe('the mix and the spans', () => {
  it('interleaves exact counts per cycle', () => {
    const cycle = intentCycle();
    expect(cycle).toHaveLength(100);
    for (const intent of INTENTS) expect(cycle.filter((i) => i === intent)).toHaveLength(MIX[intent]);
    // Spread out: no ten consecutive requests without a read.
    for (let i = 0; i < cycle.length; i++)
      expect(Array.from({ length: 10 }, (_, k) => cycle[(i + k) % 100]).includes('read')).toBe(true);
  });

  it('offers the over-limit caller 2.5 × its limit', () => {
    expect(overLimitReadPerSec(500)).toBe(24);
  });

  it('compares the first and the last quarter after the warm-up, at most a minute each', () => {
    expect(spans(600, 60)).toMatchObject({ windowSec: 60, first: [60, 120], last: [540, 600] });
    expect(spans(60, 6)).toMatchObject({ windowSec: 13.5, first: [6, 19.5], last: [46.5, 60] });
  });

  it('derives the warm-up and baseline from the duration unless given', () => {
    const parsed = parseSoakArgs(['--duration', '30']);
    expect(parsed.ok && parsed.options).toMatchObject({
      ratePerSec: 500,
      durationSec: 30,
      warmupSec: 3,
      baselineSec: 10,
      outFile: 'bench/results/soak.json',
    });
    const full = parseSoakArgs([]);
    expect(full.ok && full.options).toMatchObject({ durationSec: 600, warmupSec: 60, baselineSec: 60 });
    expect(parseSoakArgs(['--duration', '10', '--warmup', '8'])).toEqual({
      ok: false,
      problems: ['--warmup: must be at most half of --duration'],
    });
    expect(parseSoakArgs(['--rate', '0'])).toEqual({
      ok: false,
      problems: ['--rate: must be a number from 1 to 10000'],
    });
  });
});

describe('a short soak, end to end', () => {
  const root = path.resolve(__dirname, '../../..');
  // The product's build (what the bench spawns) and the benches' own (the probe preloaded into the gateway).
  const distDir = path.join(root, '.test-build', 'soak');
  const benchOut = path.join(root, '.test-build', 'soak-bench');
  const benchDir = path.join(benchOut, 'bench');
  let workDir: string;
  let group: ChildGroup;
  let report: SoakReport;
  let text: string;

  beforeAll(async () => {
    compileProductInto(distDir);
    compileBenchInto(benchOut);
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-soak-'));
    group = createChildGroup();
    // Faults well above the defaults, so that a few seconds surely see each kind. The in-memory
    // schedule: the redis-server path is the bench's default, but a Redis timeout on a busy machine
    // (the gateway falls back and answers 429 for a moment) is the gateway's behaviour, not what
    // this test is about.
    const options: SoakOptions = {
      ratePerSec: 50,
      durationSec: 6,
      warmupSec: 1,
      baselineSec: 2,
      maxInFlight: 128,
      progressSec: 2,
      errorRate: 0.05,
      dropRate: 0.03,
      slowRate: 0.03,
      gatewayLogLevel: 'warn',
      redis: false,
      outFile: path.join(workDir, 'soak.json'),
      keepLogs: false,
      help: false,
    };
    const run = await runSoak(options, { distDir, benchDir, workDir, group, log: () => undefined });
    report = JSON.parse(
      reportJson(
        buildReport(
          run,
          options,
          {
            node: process.version,
            platform: process.platform,
            cpuCount: os.cpus().length,
            cpuModel: 'test',
            loadAverage: os.loadavg(),
          },
          new Date(),
        ),
      ),
    ) as SoakReport;
    text = formatReport(report);
  }, 180_000);

  afterAll(async () => {
    await group?.stopAll();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('saves the figures the issue asks for', () => {
    expect(report).toMatchObject({
      achievedRps: expect.any(Number),
      options: { ratePerSec: 50, durationSec: 6, warmupSec: 1 },
      figures: {
        traffic: { offeredRps: 50, requests: 300, latency: { allowedOk: { p99Ms: expect.any(Number) } } },
        memory: {
          firstWindowMiB: expect.any(Number),
          lastWindowMiB: expect.any(Number),
          growthPct: expect.any(Number),
        },
        eventLoop: { measured: { p99Ms: expect.any(Number) } },
        handles: {
          exitCode: 0,
          killed: false,
          lingeringAtExit: expect.any(Array),
          exitAfterSigtermMs: expect.any(Number),
        },
        baseline: { direct: { achievedRps: expect.any(Number) }, ratios: { achievedRps: expect.any(Number) } },
      },
    });
    expect(report.verdicts.map((v) => v.target)).toEqual([
      'no unexpected 5xx',
      'RSS growth after warm-up < 10 %',
      'event-loop delay p99 < 20 ms',
      'no handle left open; exit within 5 s of SIGTERM',
    ]);
    for (const v of report.verdicts) expect(typeof v.pass).toBe('boolean');
    expect(report.timeline.length).toBeGreaterThanOrEqual(3);
    expect(report.timeline[0]).toMatchObject({
      rssMiB: expect.any(Number),
      eldP99Ms: expect.anything(),
      openFds: expect.any(Number),
    });
    expect(report.perSecond).toHaveLength(6);
    expect(report.figures.handles.atSigterm).toEqual(expect.objectContaining({ TCPServerWrap: 2 }));
    for (const verdict of ['PASS', 'FAIL'])
      if (report.verdicts.some((v) => v.pass === (verdict === 'PASS'))) expect(text).toContain(verdict);
  });

  it('accounts for every request, each classified as its intent says', () => {
    const { traffic, faults } = report.figures;
    expect(KINDS.reduce((sum, k) => sum + traffic.kinds[k], 0)).toBe(traffic.requests);
    expect(traffic.kindsByIntent['bad-token']).toEqual({ 'denied-401': 30 });
    expect(traffic.kindsByIntent['missing-scope']).toEqual({ 'denied-403': 30 });
    // 6 requests/s offered to a caller limited to 2.4/s, with a 100 ms deadline.
    expect(traffic.kindsByIntent['over-limit']['rate-429']).toBeGreaterThan(0);
    expect(traffic.kindsByIntent.read.ok).toBeGreaterThan(0);
    expect(traffic.kindsByIntent.write.ok).toBeGreaterThan(0);
    expect(traffic.intentMismatches).toBe(0);
    expect(traffic.unexpectedResponses).toEqual({});
    // The injected faults were seen and matched to their requests through the sandbox's log (the
    // request ids made it through the gateway), and the kinds agree with the reconciliation.
    expect(faults.injected.error + faults.injected.drop + faults.injected.slow).toBeGreaterThan(0);
    expect(faults.method).toBe('request-id');
    const seen = faults.seen['upstream-500'] + faults.seen['gateway-502'] + faults.seen['gateway-504'];
    const unexplained =
      faults.unexplained['upstream-500'] + faults.unexplained['gateway-502'] + faults.unexplained['gateway-504'];
    expect(seen - unexplained).toBeGreaterThan(0);
    expect(traffic.kinds['upstream-fault-5xx']).toBe(seen - unexplained);
    expect(traffic.kinds['unexpected-5xx']).toBeGreaterThanOrEqual(unexplained);
    // The baseline reached the sandbox with its own keys: the same denials, from the provider.
    expect(report.figures.baseline!.direct.kinds['denied-401']).toBeGreaterThan(0);
    expect(report.figures.baseline!.direct.kinds['denied-403']).toBeGreaterThan(0);
  });
});
