import type supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountPassword, enrolWithApp } from '../helpers/account.ts';
import { notAllowedHeading, sendAdminForm, signedInAdministrator } from '../helpers/admin.ts';
import { createTestPortal, type TestPortal } from '../helpers/app.ts';
import { userContext } from '../helpers/context.ts';

/*
 * SPEC M6, A3: the security questions in the console. A retired or reworded question keeps the
 * answers given to it verifying and is no longer offered; the numbers to enrol and to answer are
 * bounded by the active questions; only "manage settings" for every group reaches the page.
 */

type Agent = ReturnType<typeof supertest.agent>;

const answers = ['Rex', 'Utrecht', 'De Regenboog', 'Sanne'];

describe('security questions in the admin console (SPEC M6, A3)', () => {
  let portal: TestPortal;
  let root: { id: string; agent: Agent };
  let scoped: { id: string; agent: Agent };
  let lotte: { id: string; byQuestion: Map<string, string> };

  const rows = () =>
    portal.services.database.db.selectFrom('security_questions').selectAll().execute();
  const auditOf = (type: string) =>
    portal.services.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', type)
      .execute();
  const offered = async (userId: string) =>
    (await portal.services.mfa.enrolment.questions(userContext(userId), { userId })).questions;

  /** Lotte's second step with every question she answered asked, and her answers given. */
  async function lotteSignsInWithAnswers() {
    const { secondStep } = portal.services.mfa;
    const asked = await secondStep.questionsToAsk(userContext(lotte.id), { userId: lotte.id });
    return secondStep.checkAnswers(userContext(lotte.id), {
      userId: lotte.id,
      purpose: 'sign-in.second-step',
      answers: asked.map((q) => ({ questionId: q.id, answer: lotte.byQuestion.get(q.id) ?? '' })),
    });
  }

  beforeAll(async () => {
    portal = await createTestPortal();
    root = await signedInAdministrator(portal, 'root', [['manage-settings', null]]);
    scoped = await signedInAdministrator(portal, 'sales-admin', [
      ['manage-settings', 'sales'],
      ['view-users', null],
    ]);
    const { user } = await enrolWithApp(portal.services, 'lotte', accountPassword, {
      language: 'en',
      answers,
    });
    const first = (await offered(user.id)).slice(0, answers.length);
    lotte = { id: user.id, byQuestion: new Map(first.map((q, i) => [q.id, answers[i] ?? ''])) };
  });
  afterAll(async () => {
    await portal.close();
  });

  it('asks for every answered question once the number to answer is the number enrolled', async () => {
    await sendAdminForm(
      root.agent,
      '/admin/questions/counts',
      { questionsToEnrol: '4', questionsToAnswer: '4' },
      303,
    );
    const settings = await portal.services.mfa.signIn.settings(userContext(lotte.id));
    expect(settings.questionsToAnswer).toBe(4);
    const byRoot = (await auditOf('settings.changed')).filter((e) => e.admin_id === root.id);
    expect(byRoot).toMatchObject([{ reason: 'questionsToAnswer: 2 → 4' }]);
  });

  it('retires a question: no longer offered, and the answers given to it still verify', async () => {
    const [retiredId] = [...lotte.byQuestion.keys()];
    const page = await root.agent.get('/admin/questions').expect(200);
    expect(page.text).toContain(`action="/admin/questions/${retiredId}/retire"`);
    expect(page.text).toContain('answered by 1 user');

    const retired = await sendAdminForm(
      root.agent,
      `/admin/questions/${retiredId}/retire`,
      {},
      303,
    );
    expect(retired.headers.location).toBe('/admin/questions?done=retired&language=en');
    expect((await rows()).find((q) => q.id === retiredId)?.active).toBe(0);
    expect(await auditOf('questions.retired')).toMatchObject([{ admin_id: root.id }]);

    expect((await offered(lotte.id)).map((q) => q.id)).not.toContain(retiredId);
    expect(await lotteSignsInWithAnswers()).toEqual({ outcome: 'success' });

    await sendAdminForm(root.agent, `/admin/questions/${retiredId}/reinstate`, {}, 303);
    expect((await offered(lotte.id)).map((q) => q.id)).toContain(retiredId);
  });

  it('turns a new wording of an answered question into a new question, the old answers kept', async () => {
    const answeredId = [...lotte.byQuestion.keys()][1] ?? '';
    const before = (await rows()).find((q) => q.id === answeredId);
    const edit = await root.agent.get(`/admin/questions/${answeredId}/edit`).expect(200);
    expect(edit.text).toContain('1 user answered this question.');

    const saved = await sendAdminForm(
      root.agent,
      `/admin/questions/${answeredId}/edit`,
      { text: 'In which town or city did your parents first meet?' },
      303,
    );
    expect(saved.headers.location).toBe('/admin/questions?done=replaced&language=en');
    const after = await rows();
    const old = after.find((q) => q.id === answeredId);
    const replacement = after.find(
      (q) => q.text === 'In which town or city did your parents first meet?',
    );
    expect(old).toMatchObject({ text: before?.text, active: 0 });
    expect(replacement).toMatchObject({ language: 'en', active: 1, position: before?.position });
    expect(await auditOf('questions.replaced')).toMatchObject([{ admin_id: root.id }]);
    expect(await lotteSignsInWithAnswers()).toEqual({ outcome: 'success' });
  });

  it('rewords a question nobody answered in place', async () => {
    const unanswered = (await rows()).find(
      (q) => q.language === 'nl' && q.text === 'Wat was uw bijnaam als kind?',
    );
    await sendAdminForm(
      root.agent,
      `/admin/questions/${unanswered?.id ?? ''}/edit`,
      { text: 'Welke bijnaam had u als kind?' },
      303,
    );
    const now = (await rows()).find((q) => q.id === unanswered?.id);
    expect(now).toMatchObject({ text: 'Welke bijnaam had u als kind?', active: 1 });
    expect(await auditOf('questions.reworded')).toMatchObject([{ admin_id: root.id }]);
  });

  it('adds a question, and refuses an empty or repeated one with the values kept', async () => {
    const empty = await sendAdminForm(
      root.agent,
      '/admin/questions',
      { language: 'fr', text: ' ' },
      400,
    );
    expect(empty.text).toContain('Enter the question');
    const repeated = await sendAdminForm(
      root.agent,
      '/admin/questions',
      { language: 'fr', text: 'Quel était votre surnom d’enfance ?' },
      400,
    );
    expect(repeated.text).toContain('This language already offers this question');
    expect(repeated.text).toContain('value="Quel était votre surnom d’enfance ?"');

    const text = 'Quel était le nom de votre rue préférée ?';
    await sendAdminForm(root.agent, '/admin/questions', { language: 'fr', text }, 303);
    expect((await rows()).filter((q) => q.text === text)).toMatchObject([
      { language: 'fr', active: 1 },
    ]);
  });

  it('bounds the numbers by the active questions, and keeps enough to enrol', async () => {
    const active = async (language: string) =>
      (await rows()).filter((q) => q.language === language && q.active === 1).length;
    const nl = await active('nl');
    const tooMany = await sendAdminForm(
      root.agent,
      '/admin/questions/counts',
      { questionsToEnrol: String(nl + 1), questionsToAnswer: '2' },
      400,
    );
    expect(tooMany.text).toContain(`Enter a whole number from 1 to ${nl}`);
    const moreAsked = await sendAdminForm(
      root.agent,
      '/admin/questions/counts',
      { questionsToEnrol: '3', questionsToAnswer: '5' },
      400,
    );
    expect(moreAsked.text).toContain('no more than the questions to enrol');
    expect((await portal.services.settings.read()).questionsToEnrol).toBe(4);

    await sendAdminForm(
      root.agent,
      '/admin/questions/counts',
      { questionsToEnrol: String(nl), questionsToAnswer: '2' },
      303,
    );
    const some = (await rows()).find((q) => q.language === 'nl' && q.active === 1);
    const refused = await sendAdminForm(
      root.agent,
      `/admin/questions/${some?.id ?? ''}/retire`,
      {},
      409,
    );
    expect(refused.text).toContain('each language needs at least');
    expect((await rows()).find((q) => q.id === some?.id)?.active).toBe(1);
    await sendAdminForm(
      root.agent,
      '/admin/questions/counts',
      { questionsToEnrol: '4', questionsToAnswer: '2' },
      303,
    );
  });

  it('keeps enough questions to enrol when two are retired at the same time', async () => {
    const active = async () => (await rows()).filter((q) => q.language === 'nl' && q.active === 1);
    const nl = (await active()).length;
    await sendAdminForm(
      root.agent,
      '/admin/questions/counts',
      { questionsToEnrol: String(nl - 1), questionsToAnswer: '2' },
      303,
    );
    const [first, second] = await active();
    const context = { actor: { kind: 'admin' as const, adminId: root.id }, clientIp: undefined };
    const { questionsAdmin } = portal.services.mfa;
    const outcomes = await Promise.all(
      [first, second].map((q) =>
        questionsAdmin.setRetired(
          { ...context, language: 'en' },
          { questionId: q?.id ?? '', retired: true },
        ),
      ),
    );
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['saved', 'too-few']);
    expect((await active()).length).toBe(nl - 1);
    for (const q of [first, second]) {
      await sendAdminForm(root.agent, `/admin/questions/${q?.id ?? ''}/reinstate`, {}, 303);
    }
    await sendAdminForm(
      root.agent,
      '/admin/questions/counts',
      { questionsToEnrol: '4', questionsToAnswer: '2' },
      303,
    );
  });

  it('gives the localised 403 to an administrator without "manage settings" for every group', async () => {
    const before = JSON.stringify(await rows());
    const page = await scoped.agent.get('/admin/questions').expect(403);
    expect(page.text).toContain(notAllowedHeading);
    const home = await scoped.agent.get('/admin').expect(200);
    expect(home.text).not.toContain('href="/admin/questions"');
    const id = (await rows())[0]?.id ?? '';
    await sendAdminForm(scoped.agent, '/admin/questions', { language: 'en', text: 'Sneaky?' }, 403);
    await sendAdminForm(scoped.agent, `/admin/questions/${id}/retire`, {}, 403);
    await sendAdminForm(scoped.agent, `/admin/questions/${id}/edit`, { text: 'Sneaky?' }, 403);
    await sendAdminForm(
      scoped.agent,
      '/admin/questions/counts',
      { questionsToEnrol: '1', questionsToAnswer: '1' },
      403,
    );
    expect(JSON.stringify(await rows())).toBe(before);
    expect((await portal.services.settings.read()).questionsToEnrol).toBe(4);
  });
});
