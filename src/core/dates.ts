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
