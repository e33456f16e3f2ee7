import { ConfigError, loadConfig, type Config } from './config/index.ts';
import { startServer } from './http-server.ts';

/** The process entry (npm start, iisnode, systemd): read config, listen, stop cleanly. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const starting = startServer(config);
  let stopping = false;
  // Registered before start-up finishes, so a stop requested during start is still graceful.
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    starting
      .then(async (running) => {
        running.services.logger.info({ signal }, 'shutting down');
        await running.stop();
      })
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(
            `Shutdown failed: ${error instanceof Error ? error.message : 'unknown error'}\n`,
          );
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  process.on('SIGINT', () => {
    shutdown('SIGINT');
  });
  await starting;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `MFA Portal failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
