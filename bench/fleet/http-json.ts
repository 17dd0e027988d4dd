/** Small loopback-only HTTP helpers for the bench's control traffic (referee, probes, metrics). */
import http from 'node:http';

export interface TextReply {
  status: number;
  text: string;
}

export function loopbackUrl(url: string): URL {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' || parsed.hostname !== '127.0.0.1')
    throw new Error(`bench talks to 127.0.0.1 only, not ${url}`);
  return parsed;
}

export function requestText(method: string, url: string, timeoutMs = 5000, body?: string): Promise<TextReply> {
  const target = loopbackUrl(url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { connection: 'close' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request(target, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export async function getJson<T>(url: string, timeoutMs = 5000): Promise<T> {
  const reply = await requestText('GET', url, timeoutMs);
  if (reply.status !== 200) throw new Error(`GET ${url}: status ${reply.status}`);
  return JSON.parse(reply.text) as T;
}
