/**
 * Jest's global teardown: names what still keeps Node's event loop alive once every test has run.
 *
 * On a two-CPU machine Jest runs in band (one worker or less): every suite in Jest's own process,
 * so a child process, socket, server or timer a test forgot keeps that process alive after a green run
 * — one CI run sat for 75 minutes after "222 passed" and timed out. `forceExit` (jest.config.js) ends
 * the run anyway; this report keeps the leak visible, with enough detail to find the test behind it,
 * and kills any child process left behind.
 */
const LEAK_SETTLE_MS = 3000;

function keepsLoopAlive(handle) {
  if (typeof handle.hasRef === 'function') return handle.hasRef();
  const inner = handle._handle;
  if (inner && typeof inner.hasRef === 'function') return inner.hasRef();
  return true;
}

function isStdio(handle) {
  // By descriptor: reading process.stdin here would open it.
  return [0, 1, 2].includes(handle.fd) || handle === process.stdout || handle === process.stderr;
}

function describe(handle) {
  const kind = handle.constructor?.name ?? typeof handle;
  if (kind === 'ChildProcess') return `ChildProcess pid ${handle.pid}: ${(handle.spawnargs ?? []).join(' ')}`;
  if (typeof handle.address === 'function' && typeof handle.listen === 'function') {
    return `${kind} listening on ${JSON.stringify(handle.address())}`;
  }
  if (handle.remotePort !== undefined || handle.localPort !== undefined) {
    return `${kind} ${handle.localAddress}:${handle.localPort} -> ${handle.remoteAddress}:${handle.remotePort}`;
  }
  if (kind === 'Socket') return "Socket on a pipe (a child process's stdio, most often)";
  return kind;
}

function leftOver() {
  const handles = process._getActiveHandles().filter((h) => !isStdio(h) && keepsLoopAlive(h));
  const timers = process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
  return { handles, timers };
}

module.exports = async function reportOpenHandles() {
  // Closes already under way when the last test ended get time to finish (ioredis, for one, arms a
  // 2 s timer when it hangs up); only what is still there after that is a leak.
  const settleUntil = Date.now() + LEAK_SETTLE_MS;
  let left = leftOver();
  while ((left.handles.length > 0 || left.timers > 0) && Date.now() < settleUntil) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = leftOver();
  }
  const { handles, timers } = left;
  if (handles.length === 0 && timers === 0) return;
  const lines = handles.map((h) => `  - ${describe(h)}`);
  if (timers > 0) lines.push(`  - ${timers} timer(s)`);
  process.stderr.write(
    `\nopen handles after the run (a test did not clean up; forceExit ends the run):\n${lines.join('\n')}\n`,
  );
  // A forgotten child would outlive the forced exit (a redis-server holding its port, a gateway its CPU).
  for (const handle of handles) if (handle.constructor?.name === 'ChildProcess') handle.kill('SIGKILL');
};
