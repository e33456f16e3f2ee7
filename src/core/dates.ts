/**
 * SPEC L1, the language review: dates and times as each language writes them (British English,
 * not US), in the configured time zone (TIME_ZONE, else the server's), with the zone shown
 * wherever a time is shown.
 */
const locales: Record<string, string> = { en: 'en-GB', nl: 'nl-NL', fr: 'fr-FR' };

const styles = {
  date: { day: 'numeric', month: 'short', year: 'numeric' },
  dateTime: {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  },
  fullDateTime: {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  },
} satisfies Record<string, Intl.DateTimeFormatOptions>;

export type DateStyle = keyof typeof styles;

const formats = new Map<string, Intl.DateTimeFormat>();

/**
 * A date format of a language. Building one costs far more than using it (it showed as 3 % of a
 * whole sign-in's CPU), so each is built once and kept. `timeZone` '' is the server's own.
 */
export function dateFormat(language: string, style: DateStyle, timeZone = ''): Intl.DateTimeFormat {
  const key = `${style} ${language} ${timeZone}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locales[language] ?? language, {
      ...styles[style],
      ...(timeZone ? { timeZone } : {}),
    });
    formats.set(key, format);
  }
  return format;
}

/** Whether a time zone name is one this Node knows (IANA names such as Europe/Amsterdam). */
export function knownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** How far a time zone is ahead of UTC at an instant, in ms ('' : the server's own zone). */
function offsetAt(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    ...(timeZone ? { timeZone } : {}),
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(instant);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(
    part('year'),
    part('month') - 1,
    part('day'),
    part('hour'),
    part('minute'),
    part('second'),
  );
  return local - (instant - (instant % 1000));
}

/**
 * The first instant (epoch ms) of a calendar day `YYYY-MM-DD` in a time zone, or null when the
 * text is no such day. `days` moves to a later day first: 1 gives the end of the day.
 */
export function startOfDay(date: string, timeZone = '', days = 0): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return null;
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
  const utc = Date.UTC(year, month - 1, day);
  const check = new Date(utc);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || year < 1970) return null;
  const midnight = utc + days * 86_400_000;
  // The offset at UTC midnight, then again at the instant found (a change of offset between).
  const first = midnight - offsetAt(midnight, timeZone);
  return midnight - offsetAt(first, timeZone);
}
