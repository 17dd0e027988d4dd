/**
 * The integration tier (and the security suite, which runs on real sockets too) measures real
 * processes — gateways, the sandbox, Redis — that share two CPUs with Jest itself on the CI machine.
 * A timing-bound assertion there can meet a stall no test controls, so a failed test gets one more
 * try, at once (a later test of the file may build on its state). The first failure is printed in
 * full before the retry, so a flaky test stays visible in the log; a regression fails both tries and
 * fails the run.
 */
jest.retryTimes(1, { logErrorsBeforeRetry: true, retryImmediately: true });
