/*
 * Users from a CSV file (SPEC A2 "import"): a plain CSV with a header row, or the export of
 * Microsoft's MFA Server ("File → Export Users", `Multi-Factor Authentication Users.csv`), so
 * that an organisation leaving it keeps its users' phone numbers. Columns are found by their
 * header, whatever the case, spacing or order; those the portal has no use for are ignored.
 */
import { readGroup } from './administrators.ts';
import { headerKey, parseCsv } from './csv.ts';
import { isLanguage } from './languages.ts';
import { isExtension, parsePhone } from './phone-numbers.ts';
import { isDisplayName, isEmail, isUsername } from './user-fields.ts';

/** What a line sets on a user; a field left out (an empty cell) is left as it is. */
export interface ImportedUserFields {
  displayName?: string;
  email?: string;
  group?: string;
  language?: string;
  /** E.164. */
  phone?: string;
  phoneExtension?: string;
  backupPhone?: string;
  backupExtension?: string;
  mobilePhone?: string;
}

export type UserLine =
  | { line: number; username: string; fields: ImportedUserFields; problem?: undefined }
  | { line: number; username: string; fields?: undefined; problem: string };

export interface UserFile {
  /** `mfa-server` when the header is MFA Server's export. */
  format: 'mfa-server' | 'csv';
  lines: UserLine[];
}

/** Header names, compared with `headerKey`: the plain CSV's and MFA Server's. */
const columns = {
  username: ['username', 'user', 'login', 'userprincipalname', 'upn', 'samaccountname'],
  firstName: ['firstname', 'givenname', 'first'],
  lastName: ['lastname', 'surname', 'familyname', 'last'],
  displayName: ['displayname', 'name', 'fullname'],
  email: ['email', 'emailaddress', 'mail'],
  group: ['group', 'usergroup'],
  language: ['language', 'lang', 'locale'],
  phoneCountry: ['countrycode', 'primarycountrycode', 'phonecountrycode'],
  phone: ['phone', 'primaryphone', 'phonenumber', 'primaryphonenumber', 'telephone'],
  phoneExtension: ['extension', 'primaryextension', 'phoneextension'],
  backupCountry: ['backupcountrycode'],
  backupPhone: ['backupphone', 'backupphonenumber'],
  backupExtension: ['backupextension'],
  mobileCountry: ['mobilecountrycode'],
  mobilePhone: ['mobile', 'mobilephone', 'mobilenumber', 'mobilephonenumber', 'cellphone'],
} as const;

type Column = keyof typeof columns;

/**
 * A number from a country code cell and a number cell, as MFA Server keeps them (`31` and
 * `612345678`, or `1` and `(425) 555-0100`), or one cell in E.164. A national trunk 0 after the
 * country code is dropped. The portal's own rule decides: only the countries it calls.
 */
export function importedPhone(
  countryCode: string | undefined,
  number: string | undefined,
): { phone: string } | { problem: string } | undefined {
  const typed = number?.trim() ?? '';
  if (typed === '') return undefined;
  let international = typed;
  if (!typed.startsWith('+') && !typed.startsWith('00')) {
    const country = (countryCode ?? '').replace(/^\+|^00/, '').trim();
    if (!/^\d{1,3}$/.test(country)) return { problem: `${typed}: no country code` };
    international = `+${country}${typed.replace(/[^\d]/g, '').replace(/^0/, '')}`;
  } else if (typed.startsWith('00')) {
    international = `+${typed.slice(2)}`;
  }
  const parsed = parsePhone(international, 'NL');
  if ('phone' in parsed) return parsed;
  return {
    problem:
      parsed.refused === 'invalid'
        ? `${typed}: not a phone number`
        : `${typed}: a number in a country, or of a kind, the portal does not call`,
  };
}

function readLine(cell: (name: Column) => string | undefined): ImportedUserFields | string {
  const fields: ImportedUserFields = {};
  const first = cell('firstName') ?? '';
  const last = cell('lastName') ?? '';
  const displayName = cell('displayName') || `${first} ${last}`.trim();
  if (displayName) {
    if (!isDisplayName(displayName)) return 'the name is too long, or has control characters';
    fields.displayName = displayName;
  }
  const email = cell('email');
  if (email) {
    if (!isEmail(email)) return `${email}: not an email address`;
    fields.email = email;
  }
  const group = cell('group');
  if (group) {
    if (readGroup(group) === null) return `${group}: not the name of a group`;
    fields.group = group;
  }
  // MFA Server writes languages such as `en` or `en-US`; one the portal lacks is left out.
  const language = cell('language')?.slice(0, 2).toLowerCase();
  if (isLanguage(language)) fields.language = language;
  const numbers = [
    ['phone', 'phoneCountry', 'phoneExtension', 'phoneExtension'],
    ['backupPhone', 'backupCountry', 'backupExtension', 'backupExtension'],
    ['mobilePhone', 'mobileCountry', undefined, undefined],
  ] as const;
  for (const [numberColumn, countryColumn, extensionColumn, extensionField] of numbers) {
    // Backup and mobile numbers without a country of their own share the primary's.
    const country = cell(countryColumn) ?? cell('phoneCountry');
    const read = importedPhone(country, cell(numberColumn));
    if (read && 'problem' in read) return read.problem;
    if (read) fields[numberColumn] = read.phone;
    const extension = extensionColumn ? cell(extensionColumn) : undefined;
    if (extension && extensionField) {
      if (!read) return `extension ${extension} without a phone number`;
      if (!isExtension(extension)) return `${extension}: an extension is digits and commas`;
      fields[extensionField] = extension;
    }
  }
  if (fields.backupPhone !== undefined && fields.phone === undefined) {
    return 'a backup phone without a primary phone';
  }
  return fields;
}

/**
 * The users of a CSV file, one per line after the header, each with what it sets or why it
 * cannot be imported. A username that comes twice is refused each time after the first. Throws
 * a `CsvError` for a quote left open.
 */
export function readUserFile(text: string): UserFile {
  const [header, ...records] = parseCsv(text);
  const keys = header?.fields.map(headerKey) ?? [];
  const index = Object.fromEntries(
    (Object.keys(columns) as Column[]).map((name) => [
      name,
      keys.findIndex((key) => (columns[name] as readonly string[]).includes(key)),
    ]),
  ) as Record<Column, number>;
  const format =
    keys.includes('primarycountrycode') || keys.includes('primaryphone') ? 'mfa-server' : 'csv';
  if (!header || index.username < 0) {
    return {
      format,
      lines: [
        { line: header?.line ?? 1, username: '', problem: 'the header names no username column' },
      ],
    };
  }
  const seen = new Set<string>();
  return {
    format,
    lines: records.map(({ line, fields: cells }): UserLine => {
      const cell = (name: Column) => {
        const value = index[name] < 0 ? undefined : cells[index[name]]?.trim();
        return value === '' ? undefined : value;
      };
      const username = (cell('username') ?? '').normalize('NFC').toLowerCase();
      if (username === '') return { line, username, problem: 'no username' };
      if (!isUsername(username)) return { line, username, problem: 'not a username' };
      if (seen.has(username)) return { line, username, problem: 'username repeated in the file' };
      seen.add(username);
      const read = readLine(cell);
      return typeof read === 'string'
        ? { line, username, problem: read }
        : { line, username, fields: read };
    }),
  };
}
