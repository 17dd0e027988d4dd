/**
 * An HTTP answer read whole: its status, headers and body, parsed as JSON when it is JSON (the
 * envelope) and kept as text otherwise (metrics, plain errors).
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export function readAnswer(res: IncomingMessage): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
    });
  });
}
