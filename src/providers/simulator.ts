import { randomUUID } from 'node:crypto';
import type { Db } from '../data/schema.ts';
import type { Telephony } from './telephony.ts';

/**
 * The development simulator (SPEC N1): calls ring and texts arrive on a local page instead of a
 * phone, where a person or a test answers them. Only wired in when SIMULATOR_ENABLED is true.
 */
export function createSimulator(db: Db) {
  const telephony: Telephony = {
    async placeCall(call) {
      await db
        .insertInto('simulator_messages')
        .values({
          id: randomUUID(),
          kind: 'call',
          to_number: call.to,
          extension: call.extension,
          body: call.prompt,
          verification_id: call.verificationId,
          state: 'ringing',
          created_at: Date.now(),
        })
        .execute();
      return { ref: null };
    },
    async sendText(text) {
      await db
        .insertInto('simulator_messages')
        .values({
          id: randomUUID(),
          kind: 'text',
          to_number: text.to,
          extension: null,
          body: text.body,
          verification_id: text.verificationId,
          state: 'delivered',
          created_at: Date.now(),
        })
        .execute();
      return { ref: null };
    },
  };

  return {
    telephony,
    async recent(limit = 50) {
      return db
        .selectFrom('simulator_messages')
        .selectAll()
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute();
    },
    async find(id: string) {
      return db
        .selectFrom('simulator_messages')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
    },
    async mark(id: string, state: 'answered' | 'missed' | 'replied') {
      await db.updateTable('simulator_messages').set({ state }).where('id', '=', id).execute();
    },
  };
}

export type Simulator = ReturnType<typeof createSimulator>;
