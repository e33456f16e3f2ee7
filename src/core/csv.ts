/** One record of a CSV file: its fields, and the line of the file it starts on (from 1). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

export class CsvError extends Error {
  override name = 'CsvError';
  readonly line: number;
  constructor(line: number, message: string) {
    super(`Line ${line}: ${message}`);
    this.line = line;
  }
}

/** An import file's text: MFA Server and Excel may write UTF-16 with a byte order mark. */
export function importFileText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  return bytes.toString('utf8');
}

/**
 * The separator of a file as Excel writes it: a comma, or a semicolon where the decimal comma is
 * local (Dutch and French Excel), or a tab. The header decides: whichever of them occurs most
 * outside quotes on the first line.
 */
function separatorOf(text: string): string {
  const counts = new Map<string, number>([
    [',', 0],
    [';', 0],
    ['\t', 0],
  ]);
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && counts.has(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let best = ',';
  for (const [char, count] of counts) if (count > (counts.get(best) ?? 0)) best = char;
  return best;
}

/**
 * RFC 4180 and what spreadsheets add to it: a UTF-8 byte order mark, CRLF or LF line ends,
 * quoted fields with doubled quotes, separators and line breaks inside quotes, a comma, semicolon
 * or tab separator. Blank lines are skipped. A quote left open is an error naming its line.
 */
export function parseCsv(input: string): CsvRecord[] {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const separator = separatorOf(text);
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quotedFrom = 0;
  let inQuotes = false;
  let index = 0;

  const endRecord = () => {
    fields.push(field);
    if (fields.length > 1 || fields[0]?.trim() !== '') records.push({ line: recordLine, fields });
    fields = [];
    field = '';
  };

  while (index < text.length) {
    const char = text[index] ?? '';
    if (inQuotes) {
      if (char === '"') {
        if (text[index + 1] === '"') {
          field += '"';
          index += 2;
          continue;
        }
        inQuotes = false;
      } else {
        if (char === '\n') line += 1;
        field += char;
      }
      index += 1;
      continue;
    }
    if (char === '"' && field.trim() === '') {
      field = '';
      inQuotes = true;
      quotedFrom = line;
    } else if (char === separator) {
      fields.push(field);
      field = '';
    } else if (char === '\r' || char === '\n') {
      if (char === '\r' && text[index + 1] === '\n') index += 1;
      endRecord();
      line += 1;
      recordLine = line;
    } else {
      field += char;
    }
    index += 1;
  }
  if (inQuotes) throw new CsvError(quotedFrom, 'a quoted field is never closed');
  if (field !== '' || fields.length > 0) endRecord();
  return records;
}

/** A header cell compared loosely: case, spaces, dashes, underscores and dots do not count. */
export function headerKey(name: string): string {
  return name.toLowerCase().replace(/[\s_.\-()/]+/g, '');
}

/**
 * What a spreadsheet would read as a formula at the start of a cell (OWASP "CSV injection"):
 * = + - @, tab and carriage return, and the full-width forms some spreadsheets also accept.
 */
const formulaStart = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * One field written for a spreadsheet: a field that would start a formula begins with an
 * apostrophe instead (shown as text, the apostrophe hidden), and a field with a separator
 * (comma or semicolon, as Dutch and French Excel read), a quote or a line break is quoted.
 */
export function csvField(value: string | null): string {
  if (value === null || value === '') return '';
  const text = formulaStart.test(value) ? `'${value}` : value;
  return /[",;\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A record of a CSV file, its fields defused and quoted as `csvField` does, with CRLF. */
export function csvLine(fields: readonly (string | null)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
