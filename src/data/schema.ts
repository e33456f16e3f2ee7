import type { Generated, Kysely } from 'kysely';

/** Times are epoch milliseconds in a bigint column: the same on SQLite and PostgreSQL. */
export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  email: string | null;
  password_hash: string | null;
  role: 'user' | 'admin';
  language: string | null;
  disabled: Generated<number>;
  failed_count: Generated<number>;
  locked_until: number | null;
  failure_window_start: number | null;
  failure_window_count: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  sid: string;
  data: string;
  expires_at: number;
}

export interface AppSecretsTable {
  name: string;
  value: string;
}

export interface DatabaseSchema {
  users: UsersTable;
  sessions: SessionsTable;
  app_secrets: AppSecretsTable;
}

export type Db = Kysely<DatabaseSchema>;
