/** Listening: the app on a real socket, and a close that leaves no handle open. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { envelopeTimestamp } from '../shared/envelope';
import { requestIdFrom } from '../shared/request-id';
import { API_BASE_PATH } from '../catalog/catalog';
import { createSandboxApp } from './app';
import type { SandboxReferee } from './control';
import { SandboxOptionsError, type SandboxOptions, type SandboxSettings } from './options';

export interface StartSandboxOptions extends SandboxOptions {
  /** Default 0: any free port (the CLI defaults to 4010). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RunningSandbox {
  /** The origin, e.g. `http://127.0.0.1:4010`; the API is at `${url}/api/v1`. */
  url: string;
  apiBaseUrl: string;
  port: number;
  referee: SandboxReferee;
  settings: SandboxSettings;
  /** Stops listening, closes every connection (keep-alive ones too) and cancels delayed responses. */
  close(): Promise<void>;
}

export async function startSandbox(options: StartSandboxOptions = {}): Promise<RunningSandbox> {
  const { port = 0, host = '127.0.0.1', ...sandboxOptions } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new SandboxOptionsError(['port: must be a whole number from 0 to 65535']);
  const { app, referee, settings, dispose } = createSandboxApp(sandboxOptions);
  const server = http.createServer(app);
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve, reject) => {
      dispose();
      server.close((error) => (error ? reject(error) : resolve()));
      // close() alone waits for idle keep-alive sockets; those would hold a test run open.
      server.closeAllConnections();
    });
    return closing;
  };
  return { url, apiBaseUrl: `${url}${API_BASE_PATH}`, port: address.port, referee, settings, close };
}

/** Garbage on the wire still gets an envelope (400, or 431 for oversized headers), then a close. */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
  const body = JSON.stringify({
    success: false,
    code: 'BAD_REQUEST',
    message: tooLarge ? 'The request headers are too large.' : 'The request is not valid HTTP.',
    requestId: requestIdFrom(undefined),
    timestamp: envelopeTimestamp(new Date()),
  });
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
