/**
 * The Strettch sandbox: a faithful standalone fake of the Strettch Cloud API (the provider has
 * none). Embed it with `createSandboxApp` / `startSandbox`, or run `npm run sandbox`.
 */
export { createSandboxApp, type SandboxApp } from './app';
export { startSandbox, type StartSandboxOptions, type RunningSandbox } from './server';
export { SandboxOptionsError, DEFAULTS, type SandboxOptions, type SandboxSettings, type Clock } from './options';
export type { SandboxReferee } from './control';
export type {
  SandboxStats,
  KeyStats,
  ClassStats,
  TimelineEntry,
  StatsClass,
  RateDecision,
  ProfileSwitch,
} from './referee';
export type { RecordedRequest } from './describe-request';
export type { FaultSettings, FaultPatch } from './faults';
export { DEMO_KEYS, ROLES, keyLabel, parseKeyList, type SandboxKey, type Role } from './keys';
export { seededRandom, type RandomSource } from './random';
export { RATE_PROFILES, type RateProfile } from './rate-profiles';
export { WINDOW_MODELS, type WindowModel } from './rate-windows';
export { COMPUTE_STATES, type ComputeState } from './lifecycle';
export { REGIONS, IMAGES, SPECIFICATIONS } from './reference-data';
