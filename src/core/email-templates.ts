import type { FieldError } from './mfa-service.ts';
import type { Translate } from './phone-verification.ts';

/**
 * SPEC N2: the emails an administrator may word per language. A template is plain text with
 * placeholders such as `{name}` and optional parts `{#pin}…{/pin}` (left out when the value is
 * empty); it is never code, so a template from the database cannot run anything.
 */
export const templateKinds = [
  'invitation',
  'factorAdded',
  'factorChanged',
  'factorRemoved',
  'bypassIssued',
  'lockedOut',
] as const;
export type TemplateKind = (typeof templateKinds)[number];
/** Every email the portal sends; the password reset notice keeps the shipped text. */
export type MessageKind = TemplateKind | 'passwordReset';

export const isTemplateKind = (value: string): value is TemplateKind =>
  (templateKinds as readonly string[]).includes(value);

/** The placeholders each email knows, in the order the console lists them. */
export const placeholdersOf: Record<MessageKind, readonly string[]> = {
  invitation: ['name', 'username', 'portal_url', 'pin'],
  factorAdded: ['name', 'username', 'portal_url', 'what', 'when', 'ip'],
  factorChanged: ['name', 'username', 'portal_url', 'what', 'when', 'ip'],
  factorRemoved: ['name', 'username', 'portal_url', 'what', 'when', 'ip'],
  bypassIssued: ['name', 'username', 'portal_url', 'until', 'when', 'ip'],
  lockedOut: ['name', 'username', 'portal_url', 'until', 'when', 'ip'],
  passwordReset: ['name', 'username', 'portal_url', 'when', 'ip'],
};

export interface Template {
  subject: string;
  body: string;
}

export const subjectMaxLength = 200;
export const bodyMaxLength = 10_000;

type Part = { text: string } | { value: string } | { section: string; parts: Part[] };

/** A template's text as parts, or the first reason it cannot render (a translation key). */
function parse(
  source: string,
  known: readonly string[],
  field: string,
): { parts: Part[] } | { error: FieldError } {
  const root: Part[] = [];
  const open: { name: string; parts: Part[] }[] = [];
  const into = () => open.at(-1)?.parts ?? root;
  const fail = (message: string, values: Record<string, string> = {}) => ({
    error: { field, message: `adminEmail.errors.${message}`, values },
  });
  const token = /\{([#/]?)([^{}]*)\}|[{}]/g;
  let last = 0;
  for (const match of source.matchAll(token)) {
    if (match.index > last) into().push({ text: source.slice(last, match.index) });
    last = match.index + match[0].length;
    if (match[0] === '{' || match[0] === '}') return fail('brace');
    const [, mark, raw = ''] = match;
    const name = raw.trim();
    if (!known.includes(name)) {
      return fail('unknownPlaceholder', { placeholder: `{${raw}}`, known: listOf(known) });
    }
    if (mark === '#') {
      const section = { name, parts: [] as Part[] };
      into().push({ section: name, parts: section.parts });
      open.push(section);
    } else if (mark === '/') {
      if (open.at(-1)?.name !== name) return fail('unopenedSection', { placeholder: `{/${name}}` });
      open.pop();
    } else {
      into().push({ value: name });
    }
  }
  if (last < source.length) into().push({ text: source.slice(last) });
  const unclosed = open.at(-1);
  if (unclosed) return fail('unclosedSection', { placeholder: `{#${unclosed.name}}` });
  return { parts: root };
}

export const listOf = (names: readonly string[]) => names.map((n) => `{${n}}`).join(' ');

function renderParts(parts: readonly Part[], values: Record<string, string>): string {
  return parts
    .map((part) => {
      if ('text' in part) return part.text;
      if ('value' in part) return values[part.value] ?? '';
      return values[part.section] ? renderParts(part.parts, values) : '';
    })
    .join('');
}

/** What is wrong with a template for this email: empty, too long, or not renderable. */
export function templateErrors(kind: MessageKind, template: Template): FieldError[] {
  const errors: FieldError[] = [];
  const subject = template.subject.trim();
  if (subject === '')
    errors.push({ field: 'subject', message: 'adminEmail.errors.subjectMissing' });
  else if (/[\r\n]/.test(subject) || subject.length > subjectMaxLength) {
    errors.push({
      field: 'subject',
      message: 'adminEmail.errors.subjectLine',
      values: { max: subjectMaxLength },
    });
  } else {
    const parsed = parse(subject, placeholdersOf[kind], 'subject');
    if ('error' in parsed) errors.push(parsed.error);
  }
  if (template.body.trim() === '') {
    errors.push({ field: 'body', message: 'adminEmail.errors.bodyMissing' });
  } else if (template.body.length > bodyMaxLength) {
    errors.push({
      field: 'body',
      message: 'adminEmail.errors.bodyTooLong',
      values: { max: bodyMaxLength },
    });
  } else {
    const parsed = parse(template.body, placeholdersOf[kind], 'body');
    if ('error' in parsed) errors.push(parsed.error);
  }
  return errors;
}

/**
 * The email a template gives with these values, each put in as it is (a value holding `{x}`
 * stays that text). Throws on a template that `templateErrors` refuses.
 */
export function renderTemplate(
  kind: MessageKind,
  template: Template,
  values: Record<string, string>,
): Template {
  const render = (source: string, field: string) => {
    const parsed = parse(source, placeholdersOf[kind], field);
    if ('error' in parsed) throw new Error(`Template does not render: ${parsed.error.message}`);
    return renderParts(parsed.parts, values);
  };
  return {
    subject: render(template.subject.trim(), 'subject').replace(/[\r\n]+/g, ' '),
    body: render(template.body.replace(/\r\n/g, '\n'), 'body'),
  };
}

/** Today's shipped text of an email in a language, written as a template. */
export function defaultTemplate(
  translate: Translate,
  kind: MessageKind,
  language: string,
): Template {
  const t = (key: string, values?: Record<string, unknown>) => translate(language, key, values);
  const greeting = t('notices.greeting', { name: '{name}' });
  if (kind === 'invitation') {
    return {
      subject: t('notices.invitation.subject'),
      body: [
        greeting,
        '',
        t('notices.invitation.body', { url: '{portal_url}', username: '{username}' }),
        `{#pin}\n${t('notices.invitation.pin', { pin: '{pin}' })}\n{/pin}`,
        t('notices.invitation.notYou'),
      ].join('\n'),
    };
  }
  const what = kind.startsWith('factor') ? '{what}' : '';
  return {
    subject: t(`notices.${kind}.subject`),
    body: [
      greeting,
      '',
      t(`notices.${kind}.body`, { what, until: '{until}' }),
      '',
      t('notices.details', { when: '{when}', ip: '{ip}' }),
      '',
      t(`notices.${kind}.notYou`, { defaultValue: t('notices.notYou') }) +
        `{#portal_url}\n\n${t('notices.portal', { url: '{portal_url}' })}{/portal_url}`,
    ].join('\n'),
  };
}
