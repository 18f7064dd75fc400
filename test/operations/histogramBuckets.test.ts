/**
 * The buckets of mesh_webhook_admission_duration_seconds as a scraper sees them: GET /metrics of a real server after
 * admissions whose durations are set exactly by the server's injected clock. The expected buckets are written here
 * literally (0.5 ms .. 10 s), not read from src/metrics.ts.
 *
 * The clock stands still; a hook registered after the server's own onRequest hook (which stores meshReceivedAt) moves
 * it by the duration the case wants, so every later reading — the one the histogram observes included — is exactly
 * meshReceivedAt + duration. The event-loop monitor is off (it would subtract real waiting time).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/metrics.js';
import { createRuntime } from '../../src/server/runtime.js';
import { startInProcessServer, steppedClock, type InProcessServer } from '../helpers/inProcess.js';
import { parseMetrics, review, type Scrape } from './helpers.js';

const BUCKET = 'mesh_webhook_admission_duration_seconds_bucket';
const LE = ['0.0005', '0.001', '0.002', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];

let nextDurationMs = 0;
let server: InProcessServer | undefined;

/** Durations in ms of the /inject requests; one /validate request takes 7 ms. */
const INJECT_MS = [0.5, 3, 5, 250, 10_000, 11_000];

/**
 * Start the server, send the requests and scrape, once, from inside the first test that needs it (not in beforeAll:
 * code run by hooks is "static" for the mutation-testing coverage analysis, which then runs every test against it).
 */
let scraped: Promise<Scrape> | undefined;
function scrape(): Promise<Scrape> {
  scraped ??= (async () => {
    const metrics = createMetrics({ processMetrics: false });
    server = await startInProcessServer(createRuntime(loadConfig({})), { metrics, ...steppedClock(() => nextDurationMs).options });
    let uid = 0;
    for (const ms of INJECT_MS) {
      nextDurationMs = ms;
      // A long ?timeout= so that no request is answered by the deadline rule (it would be observed the same way).
      expect((await server.postJson('/inject?timeout=60s', review(`h${++uid}`))).status).toBe(200);
    }
    nextDurationMs = 7;
    expect((await server.postJson('/validate?timeout=60s', review(`h${++uid}`))).status).toBe(200);
    nextDurationMs = 0;
    const res = await server.request('/metrics');
    expect(res.status).toBe(200);
    return parseMetrics(res.text);
  })();
  return scraped;
}
afterAll(() => server?.close());

async function buckets(endpoint: string): Promise<[string, number][]> {
  return (await scrape()).samples.filter((s) => s.name === BUCKET && s.labels.endpoint === endpoint).map((s) => [s.labels.le!, s.value]);
}

describe('mesh_webhook_admission_duration_seconds on GET /metrics', () => {
  it('has exactly the buckets 0.5 ms, 1 ms, 2 ms, 5 ms, 10 ms, 25 ms, 50 ms, 100 ms, 250 ms, 500 ms, 1 s, 2.5 s, 5 s, 10 s, +Inf', async () => {
    expect((await buckets('inject')).map(([le]) => le)).toEqual(LE);
    expect((await buckets('validate')).map(([le]) => le)).toEqual(LE);
  });

  it('counts each duration in the first bucket whose bound it does not exceed (bounds are inclusive)', async () => {
    // 0.5 ms → le 0.0005; 3 ms and 5 ms → le 0.005; 250 ms → le 0.25; 10 s → le 10; 11 s → +Inf only.
    expect(await buckets('inject')).toEqual([
      ['0.0005', 1],
      ['0.001', 1],
      ['0.002', 1],
      ['0.005', 3],
      ['0.01', 3],
      ['0.025', 3],
      ['0.05', 3],
      ['0.1', 3],
      ['0.25', 4],
      ['0.5', 4],
      ['1', 4],
      ['2.5', 4],
      ['5', 4],
      ['10', 5],
      ['+Inf', 6],
    ]);
    expect(await buckets('validate')).toEqual(LE.map((le) => [le, ['0.0005', '0.001', '0.002', '0.005'].includes(le) ? 0 : 1]));
  });

  it('sums and counts the observed durations in seconds', async () => {
    const { samples } = await scrape();
    const value = (name: string, endpoint: string) => samples.find((s) => s.name === name && s.labels.endpoint === endpoint)?.value;
    expect(value('mesh_webhook_admission_duration_seconds_count', 'inject')).toBe(6);
    expect(value('mesh_webhook_admission_duration_seconds_sum', 'inject')).toBeCloseTo(21.2585, 9);
    expect(value('mesh_webhook_admission_duration_seconds_count', 'validate')).toBe(1);
    expect(value('mesh_webhook_admission_duration_seconds_sum', 'validate')).toBeCloseTo(0.007, 12);
  });
});
