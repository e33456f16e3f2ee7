import type supertest from 'supertest';
import { decodeBase32, totp } from '../../src/core/otp.ts';
import { csrfTokenFrom } from './app.ts';

type Agent = ReturnType<typeof supertest.agent>;

export const appParams = { algorithm: 'SHA1', digits: 6, period: 30 } as const;

/** The secret key a person would type from the activation page. */
export function secretFrom(html: string): Buffer {
  const grouped = /<code class="secret">([^<]+)<\/code>/.exec(html)?.[1];
  if (!grouped) throw new Error('No secret key on the page');
  return decodeBase32(grouped);
}

export function appCode(secret: Buffer, offsetSteps = 0): string {
  return totp(secret, Date.now() + offsetSteps * 30_000, appParams);
}

/** Question ids offered on the set-up page, in order. */
export function questionIdsFrom(html: string): string[] {
  const select = /<select id="question0"[\s\S]*?<\/select>/.exec(html)?.[0] ?? '';
  return [...select.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1] ?? '');
}

export function post(agent: Agent, path: string, page: string, fields: Record<string, string>) {
  return agent
    .post(path)
    .type('form')
    .send({ _csrf: csrfTokenFrom(page), ...fields });
}

/**
 * Walks User Setup for the mobile app, as a person would: generate, scan (read the key), prove
 * with a code, then answer the questions. Returns the secret the app now holds.
 */
export async function enrolApp(
  agent: Agent,
  answers = ['Rex', 'Utrecht', 'De Regenboog', 'Pieter'],
) {
  const start = await agent.get('/setup/app').expect(200);
  await post(agent, '/setup/app/generate', start.text, {}).expect(303);
  const activation = await agent.get('/setup/app').expect(200);
  const secret = secretFrom(activation.text);
  await post(agent, '/setup/app', activation.text, { code: appCode(secret) }).expect(303);
  const questions = await agent.get('/setup/questions').expect(200);
  const ids = questionIdsFrom(questions.text);
  const fields: Record<string, string> = {};
  answers.forEach((answer, i) => {
    fields[`question${i}`] = ids[i] ?? '';
    fields[`answer${i}`] = answer;
  });
  await post(agent, '/setup/questions', questions.text, fields).expect(303);
  return secret;
}
