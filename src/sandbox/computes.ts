/**
 * Team-scoped in-memory compute store. Each team sees only its own computes: another team's id is
 * indistinguishable from an id that was never issued. States advance lazily (see lifecycle.ts).
 */
import { envelopeTimestamp } from '../shared/envelope';
import { applyAction, created, isGone, settle, type ComputeState, type Lifecycle, type PowerAction } from './lifecycle';
import { findSpecification, isStrictlyLarger } from './reference-data';

/** The Compute object as the API shows it. */
export interface Compute {
  id: string;
  hostName: string;
  state: ComputeState;
  image: string;
  specification: string;
  region: string;
  /** Public address, or "" when the compute has none (`withPublicIp` not true). */
  ipv4: string;
  privateIpv4: string;
  tags: string[];
  createdAt: string;
  updatedAt: string;
}

export interface ComputeInput {
  hostName: string;
  image: string;
  specification: string;
  region: string;
  tags: string[];
  withPublicIp: boolean;
}

interface ComputeRecord {
  id: string;
  team: string;
  input: ComputeInput;
  specification: string;
  ipv4: string;
  privateIpv4: string;
  createdAtMs: number;
  /** Changes that are not state changes (upsize) also move `updatedAt`. */
  changedAtMs: number;
  lifecycle: Lifecycle;
}

export interface ComputeDelays {
  createDelayMs: number;
  transitionDelayMs: number;
}

export type ComputeActionResult =
  | { kind: 'accepted'; compute: Compute }
  | { kind: 'not-found' }
  | { kind: 'wrong-state'; state: ComputeState; allowedFrom: readonly ComputeState[] };

export type UpsizeResult =
  | { kind: 'accepted'; compute: Compute }
  | { kind: 'not-found' }
  | { kind: 'not-stopped'; state: ComputeState }
  | { kind: 'gone'; state: ComputeState }
  | { kind: 'not-larger'; from: string; to: string };

export class ComputeStore {
  private readonly records = new Map<string, ComputeRecord>();
  private lastId = 0;

  constructor(private readonly delays: ComputeDelays) {}

  create(team: string, input: ComputeInput, nowMs: number): Compute {
    const n = ++this.lastId;
    const record: ComputeRecord = {
      id: String(n),
      team,
      input: { ...input, tags: [...input.tags] },
      specification: input.specification,
      ipv4: input.withPublicIp ? publicAddress(n) : '',
      privateIpv4: privateAddress(n),
      createdAtMs: nowMs,
      changedAtMs: nowMs,
      lifecycle: created(nowMs, this.delays.createDelayMs),
    };
    this.records.set(record.id, record);
    // The 202 shows the state the action put the compute in, even when the delay is zero.
    return view(record, record.lifecycle);
  }

  get(team: string, id: string, nowMs: number): Compute | undefined {
    const record = this.find(team, id, nowMs);
    return record ? view(record, record.lifecycle) : undefined;
  }

  /** Ascending by id (creation order); destroyed computes stay listed, in state DESTROYED. */
  list(team: string, nowMs: number, page: number, limit: number): { items: Compute[]; total: number } {
    const mine = [...this.records.values()].filter((r) => r.team === team);
    const start = (page - 1) * limit;
    const items = mine.slice(start, start + limit).map((r) => {
      r.lifecycle = settle(r.lifecycle, nowMs);
      return view(r, r.lifecycle);
    });
    return { items, total: mine.length };
  }

  act(team: string, id: string, action: PowerAction, nowMs: number): ComputeActionResult {
    const record = this.find(team, id, nowMs);
    if (!record) return { kind: 'not-found' };
    const result = applyAction(record.lifecycle, action, nowMs, this.delays.transitionDelayMs);
    if (result.kind === 'wrong-state') return result;
    record.lifecycle = result.lifecycle;
    return { kind: 'accepted', compute: view(record, record.lifecycle) };
  }

  /** Resizes in place and at once; the compute stays STOPPED. */
  upsize(team: string, id: string, newSpecification: string, nowMs: number): UpsizeResult {
    const record = this.find(team, id, nowMs);
    if (!record) return { kind: 'not-found' };
    const state = record.lifecycle.state;
    if (isGone(state)) return { kind: 'gone', state };
    if (state !== 'STOPPED') return { kind: 'not-stopped', state };
    const from = findSpecification(record.specification);
    const to = findSpecification(newSpecification);
    if (!from || !to || !isStrictlyLarger(from, to))
      return { kind: 'not-larger', from: record.specification, to: newSpecification };
    record.specification = to.specification;
    record.changedAtMs = nowMs;
    return { kind: 'accepted', compute: view(record, record.lifecycle) };
  }

  reset(): void {
    this.records.clear();
    this.lastId = 0;
  }

  private find(team: string, id: string, nowMs: number): ComputeRecord | undefined {
    const record = this.records.get(id);
    if (!record || record.team !== team) return undefined;
    record.lifecycle = settle(record.lifecycle, nowMs);
    return record;
  }
}

function view(record: ComputeRecord, lifecycle: Lifecycle): Compute {
  return {
    id: record.id,
    hostName: record.input.hostName,
    state: lifecycle.state,
    image: record.input.image,
    specification: record.specification,
    region: record.input.region,
    ipv4: record.ipv4,
    privateIpv4: record.privateIpv4,
    tags: [...record.input.tags],
    createdAt: envelopeTimestamp(new Date(record.createdAtMs)),
    updatedAt: envelopeTimestamp(new Date(Math.max(record.changedAtMs, lifecycle.sinceMs))),
  };
}

function octets(n: number): [number, number, number] {
  return [(n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** 10.0.0.0/8, derived from the id so addresses are unique and stable. */
export function privateAddress(n: number): string {
  const [b, c, d] = octets(n);
  return `10.${b}.${c}.${d}`;
}

/** 198.18.0.0/15 (RFC 2544 benchmarking space): never routable, so never someone's real host. */
export function publicAddress(n: number): string {
  const [b, c, d] = octets(n);
  return `198.${18 + (b & 1)}.${c}.${d}`;
}
