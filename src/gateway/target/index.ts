export {
  checkTarget,
  MAX_TARGET_LENGTH,
  type TargetAccepted,
  type TargetDecision,
  type TargetRejected,
} from './check-target';
export {
  BAD_TARGET_REASONS,
  UNKNOWN_ROUTE_REASONS,
  codeOf,
  publicMessageFor,
  type BadTargetReason,
  type TargetRejectReason,
  type UnknownRouteReason,
} from './reasons';
export { describeRequirement } from './query-value';
