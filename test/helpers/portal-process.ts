import { spawn } from 'node:child_process';
import { projectRoot } from '../../src/config/index.ts';
import { installationEnv } from './cli.ts';

export interface PortalProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  pid: number;
  /** Sends the signal and resolves with the exit code (or the signal's name) once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/** `node src/server.ts` as a separate process on `databaseUrl`, on a free port. */
export async function startPortalProcess(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<PortalProcess> {
  const child = spawn(process.execPath, ['src/server.ts'], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      LOG_LEVEL: 'info',
      ...installationEnv(databaseUrl),
      ...env,
    },
  });
  const exited = new Promise<number | string | null>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve(code ?? signal);
    });
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /"address":(\d+)[^\n]*"msg":"MFA Portal listening"/.exec(output);
      if (listening) resolve(Number(listening[1]));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    void exited.then(() => {
      reject(new Error(`The portal stopped before it listened:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${String(port)}`,
    pid: child.pid ?? 0,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}
