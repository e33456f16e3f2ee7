import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Client, ResultCodeError } from 'ldapts';
import { DirectoryUnavailableError } from './errors.ts';

export interface LdapServerOptions {
  /** Tried in order; one that fails is passed over for `downMs`, unless all have failed. */
  urls: string[];
  startTls: boolean;
  /** PEM of the CA that issued the servers' certificates; the system's CAs when undefined. */
  ca: Buffer | undefined;
  timeoutMs: number;
}

const downMs = 30_000;

/** Node's names for a certificate that does not verify, as opposed to a server that is down. */
const certificateErrors = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** What went wrong reaching one server, in a line an operator can act on. */
export function describeConnectionError(url: string, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
  if (typeof code === 'string' && certificateErrors.has(code)) {
    return `${url}: the server's certificate does not verify (${code}: ${detail}); set LDAP_CA_FILE to the CA that issued it and use the host name the certificate names`;
  }
  return `${url}: ${typeof code === 'string' ? `${code} ` : ''}${detail}`;
}

/**
 * Connections to the directory servers, `size` at most, reused. A connection that drops is never
 * re-opened behind our back: ldapts would reconnect in plain text after a StartTLS upgrade and
 * without the bind, so each socket is allowed once and a dead client is replaced by a new one.
 */
export class LdapPool {
  private readonly idle: { client: Client; url: string }[] = [];
  private readonly waiting: (() => void)[] = [];
  private busy = 0;
  private readonly downUntil = new Map<string, number>();

  private readonly server: LdapServerOptions;
  private readonly size: number;
  /** Run on each new connection before it is used: the service account's bind, for searches. */
  private readonly prepare: (client: Client) => Promise<void>;

  constructor(
    server: LdapServerOptions,
    size: number,
    prepare: (client: Client) => Promise<void> = () => Promise.resolve(),
  ) {
    this.server = server;
    this.size = size;
    this.prepare = prepare;
  }

  private tlsOptions(url: string): ConnectionOptions {
    const { hostname } = new URL(url);
    return {
      ...(this.server.ca ? { ca: [this.server.ca] } : {}),
      servername: hostname.replace(/^\[|\]$/g, ''),
      host: hostname.replace(/^\[|\]$/g, ''),
      minVersion: 'TLSv1.2',
      rejectUnauthorized: true,
    };
  }

  private newClient(url: string): Client {
    let plainOpened = false;
    let secureOpened = 0;
    const tlsOptions = this.tlsOptions(url);
    const refuseReconnect = () => {
      throw new Error('the connection to the directory dropped');
    };
    return new Client({
      url,
      timeout: this.server.timeoutMs,
      connectTimeout: this.server.timeoutMs,
      // ldapts speaks TLS from the start whenever it is given TLS options: ldaps:// only.
      ...(url.startsWith('ldaps:') ? { tlsOptions } : {}),
      createConnection: ((port: number, host: string) => {
        if (plainOpened) refuseReconnect();
        plainOpened = true;
        return netConnect(port, host);
      }) as typeof netConnect,
      // ldaps:// connects with (port, host, options); StartTLS upgrades with one options object.
      createSecureConnection: (...args: unknown[]) => {
        secureOpened += 1;
        if (secureOpened > 1) refuseReconnect();
        if (typeof args[0] === 'object') {
          return tlsConnect({ ...tlsOptions, ...(args[0] as ConnectionOptions) });
        }
        return tlsConnect(args[0] as number, args[1] as string, tlsOptions);
      },
    });
  }

  private async open(url: string): Promise<Client> {
    const client = this.newClient(url);
    try {
      if (this.server.startTls) await client.startTLS(this.tlsOptions(url));
      try {
        await this.prepare(client);
      } catch (error) {
        if (!(error instanceof ResultCodeError)) throw error;
        // The service account's bind refused: configuration, not a user's answer.
        throw new DirectoryUnavailableError(
          `the service account's bind was refused (${error.message}): check LDAP_BIND_DN and LDAP_BIND_PASSWORD`,
        );
      }
      return client;
    } catch (error) {
      await client.unbind().catch(() => undefined);
      throw error;
    }
  }

  /** The servers in the order to try now: those not known to be down first. */
  private candidates(): string[] {
    const now = Date.now();
    const up = this.server.urls.filter((url) => (this.downUntil.get(url) ?? 0) <= now);
    return [...up, ...this.server.urls.filter((url) => !up.includes(url))];
  }

  private async acquire(): Promise<void> {
    while (this.busy >= this.size) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.busy += 1;
  }

  private release(): void {
    this.busy -= 1;
    this.waiting.shift()?.();
  }

  /**
   * Runs `work` on a connection. A directory's answer (any LDAP result code) is the caller's; a
   * server that cannot be reached is passed over for the next one, and when none answers the
   * work ends in a DirectoryUnavailableError naming each server's problem.
   */
  async use<T>(work: (client: Client) => Promise<T>): Promise<T> {
    await this.acquire();
    const problems: string[] = [];
    try {
      for (const url of this.candidates()) {
        // An idle connection may have been closed by the server meanwhile: then a new one.
        const reused = this.takeIdle(url);
        for (const held of reused ? [reused, undefined] : [undefined]) {
          let client = held?.client;
          try {
            client ??= await this.open(url);
            const result = await work(client);
            this.idle.push({ client, url });
            this.downUntil.delete(url);
            return result;
          } catch (error) {
            if (error instanceof ResultCodeError && client) {
              this.idle.push({ client, url });
              throw error;
            }
            await client?.unbind().catch(() => undefined);
            if (held) continue;
            this.downUntil.set(url, Date.now() + downMs);
            problems.push(describeConnectionError(url, error));
          }
        }
      }
      throw new DirectoryUnavailableError(`no LDAP server answered: ${problems.join('; ')}`);
    } finally {
      this.release();
    }
  }

  private takeIdle(url: string): { client: Client; url: string } | undefined {
    for (let index = this.idle.length - 1; index >= 0; index -= 1) {
      const held = this.idle[index];
      if (held && !held.client.isConnected) this.idle.splice(index, 1);
    }
    const index = this.idle.findIndex((held) => held.url === url);
    return index === -1 ? undefined : this.idle.splice(index, 1)[0];
  }

  async close(): Promise<void> {
    const all = this.idle.splice(0);
    await Promise.all(all.map((held) => held.client.unbind().catch(() => undefined)));
  }
}
