import { defineConfig } from 'vitest/config';
import { needs, postgresUnavailable } from './test/helpers/services.ts';

/*
 * Two projects: every test on the embedded default (SQLite), and the journeys of sign-in,
 * enrolment and self-service once more on PostgreSQL (TEST_DATABASE=postgres makes each test
 * portal use a fresh PostgreSQL database), so that scaled mode runs the same code paths. Without
 * a PostgreSQL server the second project is left out with a one-line reason (under CI=true the
 * run fails instead).
 */
const onPostgres = [
  'test/contract/*.test.ts',
  'test/integration/account*.test.ts',
  'test/integration/admin-import.test.ts',
  'test/integration/admin-email.test.ts',
  'test/integration/admin-questions.test.ts',
  'test/integration/admin-settings.test.ts',
  'test/integration/admin-reports.test.ts',
  'test/integration/csrf.test.ts',
  'test/integration/enrolment-service.test.ts',
  'test/integration/ldap-sign-in.test.ts',
  'test/integration/imports.test.ts',
  'test/integration/lockout.test.ts',
  'test/integration/notices.test.ts',
  'test/integration/phone-limits.test.ts',
  'test/integration/phone-methods.test.ts',
  'test/integration/sign-in.test.ts',
  'test/integration/twilio.test.ts',
  'test/integration/two-step.test.ts',
  'test/integration/user-search.test.ts',
];
const postgresMissing = await needs('PostgreSQL', postgresUnavailable);

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'] } },
      ...(postgresMissing
        ? []
        : [
            {
              extends: true as const,
              test: { name: 'postgres', include: onPostgres, env: { TEST_DATABASE: 'postgres' } },
            },
          ]),
    ],
  },
});
