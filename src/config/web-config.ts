import { existsSync, readFileSync } from 'node:fs';

const entities: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&apos;': "'",
};

function decodeXml(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|apos);/g, (entity) => entities[entity] ?? entity);
}

/**
 * Reads the `<add key value>` pairs of `<appSettings>` in an IIS web.config. Under iisnode the same
 * values arrive promoted into the environment; reading the file lets a Linux or console start see
 * what an operator edited in Notepad, as the original portal's instructions tell them to.
 */
export function readAppSettings(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const xml = readFileSync(path, 'utf8').replace(/<!--[\s\S]*?-->/g, '');
  const section = /<appSettings\b[^>]*>([\s\S]*?)<\/appSettings>/i.exec(xml);
  if (!section?.[1]) return {};
  const settings: Record<string, string> = {};
  for (const add of section[1].matchAll(/<add\b([^>]*?)\/?>/gi)) {
    const attributes = add[1] ?? '';
    const key = /\bkey\s*=\s*"([^"]*)"/i.exec(attributes)?.[1];
    const value = /\bvalue\s*=\s*"([^"]*)"/i.exec(attributes)?.[1];
    if (key !== undefined && value !== undefined) settings[decodeXml(key)] = decodeXml(value);
  }
  return settings;
}
