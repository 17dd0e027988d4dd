/**
 * An OTLP/HTTP trace receiver inside the test: `POST /v1/traces` with a JSON body (what
 * `@opentelemetry/exporter-trace-otlp-http` sends), every raw body kept for leak scans and its
 * spans flattened with their attributes decoded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP's enum: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status: { code?: number; message?: string };
  /** The resource's attributes (service.name …). */
  resource: Record<string, string | number | boolean>;
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;

export interface OtlpReceiver {
  /** Where the exporter should POST: `http://127.0.0.1:<port>/v1/traces`. */
  tracesUrl: string;
  /** Every request body, as received. */
  rawBodies: string[];
  spans(): ReceivedSpan[];
  close(): Promise<void>;
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
}

function decode(attributes: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const decoded: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    if (value.stringValue !== undefined) decoded[key] = value.stringValue;
    else if (value.intValue !== undefined) decoded[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) decoded[key] = value.doubleValue;
    else if (value.boolValue !== undefined) decoded[key] = value.boolValue;
  }
  return decoded;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const rawBodies: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      rawBodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    tracesUrl: `http://127.0.0.1:${port}/v1/traces`,
    rawBodies,
    spans() {
      const spans: ReceivedSpan[] = [];
      for (const body of rawBodies) {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const parsed = JSON.parse(body) as { resourceSpans: any[] };
        for (const resourceSpan of parsed.resourceSpans) {
          const resource = decode(resourceSpan.resource?.attributes);
          for (const scope of resourceSpan.scopeSpans ?? [])
            for (const span of scope.spans ?? [])
              spans.push({
                traceId: span.traceId,
                spanId: span.spanId,
                ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
                name: span.name,
                kind: span.kind,
                attributes: decode(span.attributes),
                status: span.status ?? {},
                resource,
              });
        }
      }
      return spans;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
