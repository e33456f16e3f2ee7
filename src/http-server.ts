import { existsSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createApp } from './app.ts';
import { configWarnings, type Config } from './config/index.ts';
import { startHeartbeat } from './data/portal-instances.ts';
import { createLogger, createServices, type Services } from './services.ts';

export interface RunningServer {
  server: http.Server;
  services: Services;
  /** Where it listens: a port number, or the pipe/socket path as given. */
  address: string | number;
  stop(): Promise<void>;
}

function listenTarget(port: string): string | number {
  return /^\d+$/.test(port) ? Number(port) : port;
}

/**
 * Where people open the sign-in page: PORTAL_URL when it is set (with BASE_PATH, unless it
 * already ends with it), else this machine's port. A pipe or socket path is no address a
 * browser can open: iisnode's pipe changes at every start.
 */
function signInAddress(config: Config, address: string | number): string {
  if (config.PORTAL_URL !== '') {
    const url = new URL(config.PORTAL_URL);
    const path = url.pathname.replace(/\/+$/, '');
    url.pathname = `${path.endsWith(config.BASE_PATH) ? path : path + config.BASE_PATH}/sign-in`;
    return url.toString();
  }
  if (typeof address === 'number') {
    return `${config.TLS_CERT_FILE ? 'https' : 'http'}://localhost:${address}${config.BASE_PATH}/sign-in`;
  }
  return `the portal's address followed by ${config.BASE_PATH}/sign-in (set PORTAL_URL to see it here)`;
}

/** Starts the portal: PORT is a TCP port, a Unix socket path or an iisnode named pipe, as given. */
export async function startServer(
  config: Config,
  logger = createLogger(config),
): Promise<RunningServer> {
  for (const warning of configWarnings(config)) logger.warn(warning);
  const services = await createServices(config, logger);
  const app = createApp(services);
  const server = config.TLS_CERT_FILE
    ? https.createServer(
        { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE) },
        app,
      )
    : http.createServer(app);
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  const target = listenTarget(config.PORT);
  if (typeof target === 'string' && target.startsWith('/') && existsSync(target)) {
    rmSync(target); // a socket left behind by a previous run
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(target, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const address = typeof bound === 'string' || bound === null ? target : bound.port;
  logger.info({ address, basePath: config.BASE_PATH }, 'MFA Portal listening');
  // `restore` refuses to replace the database while this heartbeat is fresh.
  const heartbeat = await startHeartbeat(services.database.db, (error: unknown) => {
    logger.warn({ err: error }, 'portal heartbeat not written');
  });

  if ((await services.users.countAdmins()) === 0) {
    const signIn = signInAddress(config, address);
    process.stdout.write(
      [
        '',
        'No administrator exists yet. Create the first one with:',
        '  npx mfa-portal create-admin --username admin',
        `then sign in at ${signIn}`,
        '',
      ].join('\n') + '\n',
    );
    // Under IIS nobody reads stdout: the log files get the hint too.
    logger.info(
      { signIn },
      'No administrator exists yet: npx mfa-portal create-admin --username admin',
    );
  }

  return {
    server,
    services,
    address,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeIdleConnections();
      });
      await heartbeat.stop().catch((error: unknown) => {
        logger.warn({ err: error }, 'portal heartbeat not removed');
      });
      await services.close();
    },
  };
}
