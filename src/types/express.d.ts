import 'express-session';
import type { TFunction } from 'i18next';
import type { UserRow } from '../data/users-repository.ts';

declare module 'express-session' {
  interface SessionData {
    userId: string;
    /** When the user completed sign-in: the start of the absolute timeout. */
    signedInAt: number;
    /** Last request of a signed-in user, updated at most once a minute: the idle timeout. */
    lastSeenAt: number;
  }
}

declare global {
  namespace Express {
    interface Locals {
      t: TFunction;
      lng: string;
      basePath: string;
      currentPath: string;
      csrfToken: string;
      signedIn: boolean;
      isAdmin: boolean;
      user?: UserRow;
      /** Prefixes BASE_PATH to an absolute path inside the portal. */
      url: (path: string) => string;
    }
  }
}
