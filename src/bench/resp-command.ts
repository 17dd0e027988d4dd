/**
 * A minimal Redis client for benchmarks and tests that must talk to a redis-server without the
 * product's connection (e.g. INFO, SHUTDOWN, DEBUG): one command, one reply, over a fresh socket.
 */
import net from 'node:net';

/** One RESP command over a fresh socket; the raw reply text. */
export function respCommand(port: number, args: readonly string[], timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis ${args[0]} on ${port}: timeout`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      if (replyComplete(text)) {
        clearTimeout(timer);
        socket.end();
        resolve(text);
      }
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** Enough for simple, error, integer and bulk replies. */
function replyComplete(text: string): boolean {
  if (text.startsWith('$')) {
    const header = text.indexOf('\r\n');
    if (header < 0) return false;
    const length = Number(text.slice(1, header));
    return length < 0 || Buffer.byteLength(text) >= header + 2 + length + 2;
  }
  return text.endsWith('\r\n');
}
