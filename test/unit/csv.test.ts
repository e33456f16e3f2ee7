import { describe, expect, it } from 'vitest';
import { csvField, csvLine, CsvError, headerKey, parseCsv } from '../../src/core/csv.ts';

describe('CSV files as spreadsheets write them', () => {
  it('reads quoted fields with doubled quotes, commas and line breaks inside, and CRLF', () => {
    const text = 'name,note\r\n"Smith, John","said ""hi""\r\nand left"\r\nplain,value\r\n';
    expect(parseCsv(text)).toEqual([
      { line: 1, fields: ['name', 'note'] },
      { line: 2, fields: ['Smith, John', 'said "hi"\r\nand left'] },
      { line: 4, fields: ['plain', 'value'] },
    ]);
  });

  it('drops a byte order mark, skips blank lines and keeps a last line without a line end', () => {
    expect(parseCsv('\uFEFFa,b\n\n1,2')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 3, fields: ['1', '2'] },
    ]);
  });

  it('takes the separator of an Excel localised for a decimal comma, or a tab', () => {
    expect(parseCsv('a;b;c\n"1,5";2;3\n')[1]?.fields).toEqual(['1,5', '2', '3']);
    expect(parseCsv('a\tb\nx, y\tz\n')[1]?.fields).toEqual(['x, y', 'z']);
  });

  it('keeps empty fields, at the end of a line too', () => {
    expect(parseCsv('a,b,c\n1,,\n')[1]?.fields).toEqual(['1', '', '']);
  });

  it('names the line of a quote left open', () => {
    expect(() => parseCsv('a,b\n1,2\n3,"never closed\n4,5\n')).toThrow(
      new CsvError(3, 'a quoted field is never closed'),
    );
  });

  it('compares headers without case, spaces or punctuation', () => {
    expect(headerKey('Primary Country Code')).toBe('primarycountrycode');
    expect(headerKey('e-mail_address')).toBe('emailaddress');
  });
});

describe('CSV files written for a spreadsheet', () => {
  it('defuses every field that would start a formula, and reads back as written', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20']) {
      const value = `${start}HYPERLINK("http://x.example")`;
      const [record] = parseCsv(csvLine([value]));
      expect(record?.fields[0], JSON.stringify(start)).toBe(`'${value}`);
    }
    expect(csvField('a=b')).toBe('a=b');
    expect(csvField(' plain')).toBe(' plain');
  });

  it('quotes separators, quotes and line breaks, and leaves empty and null fields empty', () => {
    const line = csvLine(['Smith, John', 'said "hi"', 'two\nlines', 'a;b', '', null, 'x']);
    expect(line).toBe('"Smith, John","said ""hi""","two\nlines","a;b",,,x\r\n');
    expect(parseCsv(line)[0]?.fields).toEqual([
      'Smith, John',
      'said "hi"',
      'two\nlines',
      'a;b',
      '',
      '',
      'x',
    ]);
  });
});
