import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';

const packageJson = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
  engines: { node: string };
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(join(projectRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|cjs)$/.test(entry.name) ? [path] : [];
  });
}

/** The packages a file loads at run time: `import type` is erased, everything else is loaded. */
function runtimePackages(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;]*?\sfrom\s+'([^']+)'/gm),
    ...source.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...source.matchAll(/\b(?:import|require)\(\s*'([^']+)'\s*\)/g),
  ].map((match) => match[1] ?? '');
  return specifiers
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    );
}

/** A `node` on PATH other than the pinned one in node_modules/.bin, when it is older than 24.7. */
function olderSystemNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue;
    const node = join(dir, 'node');
    const version = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    if (version.status !== 0) continue;
    const [major = 0, minor = 0] = version.stdout.trim().split('.').map(Number);
    if (major < 24 || (major === 24 && minor < 7)) return node;
  }
  return undefined;
}

describe('production install: npm ci --omit=dev, then npm start (SPEC C4, issue 17)', () => {
  it('starts from the entries with Node alone: no build step, no TypeScript compiler', () => {
    expect(packageJson.scripts.start).toBe('node start.cjs');
    expect(packageJson.bin['mfa-portal']).toBe('cli.cjs');
    expect(packageJson.scripts).not.toHaveProperty('build');
  });

  it('loads at run time only built-in modules and packages listed in dependencies', () => {
    const builtins = new Set(builtinModules);
    const missing = ['start.cjs', 'cli.cjs', ...sourceFiles('src')].flatMap((file) =>
      runtimePackages(readFileSync(join(projectRoot, file), 'utf8'))
        .filter((name) => !builtins.has(name) && !(name in packageJson.dependencies))
        .map((name) => `${file}: ${name}`),
    );
    expect(missing).toEqual([]);
  });

  it('refuses a Node older than 24.7 with one line saying which version is needed', () => {
    const { required } = JSON.parse(
      spawnSync(process.execPath, ['-p', 'JSON.stringify(require("./src/node-version.cjs"))'], {
        cwd: projectRoot,
        encoding: 'utf8',
      }).stdout,
    ) as { required: { major: number; minor: number } };
    expect(packageJson.engines.node).toBe(`>=${required.major}.${required.minor}`);

    // The machine's own older Node when there is one (Debian's), else this Node made to look old.
    const old = olderSystemNode();
    for (const entry of ['start.cjs', 'cli.cjs']) {
      const run = old
        ? spawnSync(old, [entry], { cwd: projectRoot, encoding: 'utf8' })
        : spawnSync(
            process.execPath,
            [
              '-e',
              `Object.defineProperty(process.versions, 'node', { value: '24.6.0' }); require('./${entry}')`,
            ],
            { cwd: projectRoot, encoding: 'utf8' },
          );
      expect(run.status).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(
        /^MFA Portal needs Node\.js 24\.7 or later; this is Node\.js \d+\.\d+\.\d+\.\n$/,
      );
    }
  });
});
