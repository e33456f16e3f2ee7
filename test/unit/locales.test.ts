import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/config/index.ts';
import { languages } from '../../src/i18n.ts';

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const entries = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') entries.set(path, value);
    else for (const [k, v] of flatten(value, path)) entries.set(k, v);
  }
  return entries;
}

function load(language: string): Map<string, string> {
  const dir = join(projectRoot, 'locales', language);
  const entries = new Map<string, string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const tree = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Tree;
    for (const [key, value] of flatten(tree)) entries.set(`${file}:${key}`, value);
  }
  return entries;
}

describe('locale files (SPEC L5)', () => {
  const english = load('en');

  it.each(languages)('%s has exactly the English keys, none empty', (language) => {
    const entries = load(language);
    expect([...entries.keys()].sort()).toEqual([...english.keys()].sort());
    const empty = [...entries].filter(([, value]) => value.trim() === '').map(([key]) => key);
    expect(empty).toEqual([]);
  });

  it.each(languages)('%s keeps every {{placeholder}} of the English text', (language) => {
    const entries = load(language);
    for (const [key, text] of english) {
      const placeholders = (s: string) => (s.match(/\{\{\w+\}\}/g) ?? []).sort();
      expect(placeholders(entries.get(key) ?? ''), key).toEqual(placeholders(text));
    }
  });

  it('no key is defined in two files (they share one lookup)', () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const key of english.keys()) {
      const [file = '', path = ''] = key.split(':');
      const top = path.split('.')[0] ?? '';
      const owner = seen.get(top);
      if (owner !== undefined && owner !== file) twice.push(`${top} (${owner}, ${file})`);
      seen.set(top, file);
    }
    expect([...new Set(twice)]).toEqual([]);
  });

  it('every translation key used in the views exists', () => {
    const viewsDir = join(projectRoot, 'views');
    const used = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else
          for (const m of readFileSync(path, 'utf8').matchAll(/\bt\('([\w.]+\w)'[,)]/g))
            used.add(m[1] ?? '');
      }
    };
    walk(viewsDir);
    expect(used.size).toBeGreaterThan(5);
    const englishKeys = new Set(
      [...english.keys()].map((key) => key.replace(/^[\w-]+\.json:/, '')),
    );
    // A key used with a count is found by its plural forms, as i18next looks it up.
    const exists = (key: string) =>
      englishKeys.has(key) || (englishKeys.has(`${key}_one`) && englishKeys.has(`${key}_other`));
    const missing = [...used].filter((key) => !exists(key));
    expect(missing).toEqual([]);
  });

  it('no view holds words of its own: text and spoken attributes come from the locale files', () => {
    const views = readdirSync(join(projectRoot, 'views'), { recursive: true, encoding: 'utf8' });
    const found: string[] = [];
    for (const file of views.filter((name) => name.endsWith('.ejs'))) {
      const markup = readFileSync(join(projectRoot, 'views', file), 'utf8')
        .replace(/<%[\s\S]*?%>/g, '\u0000')
        .replace(/<!--[\s\S]*?-->/g, '')
        .replace(/<style[\s\S]*?<\/style>/g, '');
      for (const [attribute, value = ''] of markup.matchAll(
        /\b(?:alt|title|aria-label|placeholder)="([^"]*)"/g,
      ))
        if (/\p{L}/u.test(value)) found.push(`${file}: ${attribute}`);
      for (const words of markup.replace(/<[^>]*>/g, ' ').match(/\p{L}[\p{L}'’ ]*/gu) ?? [])
        found.push(`${file}: ${words}`);
    }
    expect(found).toEqual([]);
  });
});

describe('French typography (SPEC L5, the language review)', () => {
  const shipped = JSON.parse(
    readFileSync(join(projectRoot, 'config', 'security-questions.json'), 'utf8'),
  ) as Record<string, string[]>;
  const french = [
    ...load('fr'),
    ...(shipped.fr ?? []).map((text, i) => [`security-questions.json:fr.${i}`, text] as const),
  ];
  const offending = (rule: RegExp) =>
    french.filter(([, text]) => rule.test(text)).map(([key, text]) => `${key}: ${text}`);

  it('puts a narrow no-break space before ; ? ! and a no-break space before :', () => {
    // Any other space, or none, before the mark (but not in a URL or a time such as 9:30).
    expect(offending(/[^\u202f]([;?!])(?!\/)/u)).toEqual([]);
    expect(offending(/[^\u00a0\u202f\d/]:(?!\/\/)/u)).toEqual([]);
  });

  it('puts no-break spaces inside « », and a narrow one between thousands', () => {
    expect(offending(/«(?!\u00a0)|(?<!\u00a0)»/u)).toEqual([]);
    expect(offending(/\d[ ,.]\d{3}\b/u)).toEqual([]);
  });
});

describe('the glossary (locales/GLOSSARY.md): one term per concept', () => {
  const glossary = readFileSync(join(projectRoot, 'locales', 'GLOSSARY.md'), 'utf8');
  const rules = [
    ...glossary.matchAll(/^- (en|nl|fr): `(.+?)`(?: \(except in keys with: (\w+)\))? → (.+)$/gm),
  ].map(([, language = '', pattern = '', except, instead = '']) => ({
    language,
    pattern: new RegExp(pattern, 'u'),
    except,
    instead,
  }));

  it('lists variants to avoid in every language', () => {
    for (const language of languages) {
      expect(rules.filter((r) => r.language === language).length).toBeGreaterThan(4);
    }
  });

  it.each(languages)('%s uses none of the variants the glossary says to avoid', (language) => {
    const entries = load(language);
    const found = rules
      .filter((rule) => rule.language === language)
      .flatMap((rule) =>
        [...entries]
          .filter(
            ([key, text]) => rule.pattern.test(text) && !(rule.except && key.includes(rule.except)),
          )
          .map(([key, text]) => `${key}: "${text}" (use ${rule.instead})`),
      );
    expect(found).toEqual([]);
  });
});
