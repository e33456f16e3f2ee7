import http from 'node:http';
import net from 'node:net';
import type { Express } from 'express';

export interface Listening {
  port: number;
  close(): Promise<void>;
}

/** The app on a real socket, for requests a test client cannot send (`OPTIONS *`). */
export async function listen(app: Express, host = '127.0.0.1'): Promise<Listening> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => {
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends a request exactly as written, request line and all (`OPTIONS * HTTP/1.1`), and reads
 * the response once the server closes the connection.
 */
export function sendRaw(
  port: number,
  requestLine: string,
  headers: Record<string, string> = {},
  host = '127.0.0.1',
): Promise<RawResponse> {
  const lines = [
    requestLine,
    ...Object.entries({ Host: 'portal.test', ...headers, Connection: 'close' }).map(
      ([name, value]) => `${name}: ${value}`,
    ),
  ];
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = net.connect(port, host, () => {
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const end = received.indexOf('\r\n\r\n');
      const [statusLine = '', ...fields] = received.slice(0, end).split('\r\n');
      const parsed: Record<string, string> = {};
      for (const field of fields) {
        const colon = field.indexOf(':');
        parsed[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers: parsed,
        body: received.slice(end + 4),
      });
    });
  });
}
