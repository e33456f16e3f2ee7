import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killProcess } from './outages.ts';

/**
 * FreeRADIUS for the RADIUS tests (SPEC §14): `freeradius -f -d DIR` on a free UDP port with a
 * configuration of the test's own: PAP from a users file, one client (127.0.0.1) that must sign
 * its requests, no reject delay. Debian's 3.2.1 does not sign PAP replies by itself, so the
 * configuration adds a Message-Authenticator to every reply in post-auth (BlastRADIUS).
 */

const freeradiusPath = '/usr/sbin/freeradius';
export const radiusSecret = 'a long shared secret for tests';

export function freeradiusMissing(): Promise<string | undefined> {
  return Promise.resolve(
    existsSync(freeradiusPath) ? undefined : `${freeradiusPath} is not installed`,
  );
}

export const radiusUsers = {
  alice: 'Alice radius 1',
  'a.long.name': 'x'.repeat(100),
};

/** A UDP port nobody uses right now. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  socket.close();
  return port;
}

function configuration(dir: string, port: number): string {
  return `prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = ${dir}
raddbdir = ${dir}
radacctdir = ${dir}
name = freeradius
confdir = ${dir}
modconfdir = ${dir}
run_dir = ${dir}
db_dir = ${dir}
libdir = /usr/lib/freeradius
pidfile = ${dir}/radiusd.pid
correct_escapes = true
max_request_time = 5
cleanup_delay = 1
max_requests = 1024
hostname_lookups = no
log {
  destination = stderr
  auth = yes
}
security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}
thread pool {
  start_servers = 1
  max_servers = 2
  min_spare_servers = 1
  max_spare_servers = 2
}
client localhost {
  ipaddr = 127.0.0.1
  secret = "${radiusSecret}"
  require_message_authenticator = yes
  nas_type = other
}
modules {
  pap {
    normalise = yes
  }
  files {
    filename = ${dir}/users
  }
  always handled {
    rcode = handled
  }
}
server default {
  listen {
    type = auth
    ipaddr = 127.0.0.1
    port = ${String(port)}
  }
  authorize {
    if (User-Name == "challenger") {
      update reply {
        Reply-Message := "Type the code from your token"
        Message-Authenticator := 0x00
      }
      update control {
        Response-Packet-Type := Access-Challenge
      }
      handled
    }
    files
    pap
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
  }
  post-auth {
    update reply {
      Message-Authenticator := 0x00
    }
    Post-Auth-Type REJECT {
      update reply {
        Message-Authenticator := 0x00
      }
    }
  }
}
`;
}

export interface FreeRadius {
  port: number;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startFreeRadius(): Promise<FreeRadius> {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-radius-'));
  const port = await freeUdpPort();
  writeFileSync(join(dir, 'radiusd.conf'), configuration(dir, port));
  writeFileSync(join(dir, 'dictionary'), '$INCLUDE /usr/share/freeradius/dictionary\n');
  writeFileSync(
    join(dir, 'users'),
    Object.entries(radiusUsers)
      .map(([name, password]) => `"${name}" Cleartext-Password := "${password}"\n`)
      .join(''),
  );
  const check = spawnSync(freeradiusPath, ['-C', '-d', dir], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`freeradius -C failed: ${check.stdout}${check.stderr}`);
  let child: ChildProcess | undefined = spawn(freeradiusPath, ['-f', '-l', 'stdout', '-d', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const started = child;
  await new Promise<void>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to process requests')) resolve();
    };
    started.stdout?.on('data', read);
    started.stderr?.on('data', read);
    started.once('exit', (code) => {
      reject(new Error(`freeradius exited with ${String(code)}: ${output}`));
    });
  });
  const stop = async () => {
    const running = child;
    child = undefined;
    await killProcess(running);
  };
  return {
    port,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
