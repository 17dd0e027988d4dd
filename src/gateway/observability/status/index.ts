export { createStatusRecorder, ANONYMOUS, type StatusRecorder } from './status-recorder';
export { statusDocument, type StatusDocument, type StatusInputs } from './status-document';
export { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './status-page';
export { policyVersion } from './policy-version';
