import 'express-session';
import type { TFunction } from 'i18next';
import type { AccountPermissions } from '../core/method-policy.ts';
import type { Account } from '../core/mfa-service.ts';
import type { SecondStepOptions } from '../core/service/second-step.ts';
import type { PortalSettings } from '../core/settings.ts';
import type { Language } from '../i18n.ts';
import type { JourneyStage } from '../middleware/journey.ts';

declare module 'express-session' {
  interface SessionData {
    userId: string;
    /** When the user completed sign-in: the start of the absolute timeout. */
    signedInAt: number;
    /** Last request of a signed-in user, updated at most once a minute: the idle timeout. */
    lastSeenAt: number;
    /** Password proven, second step still to do (SPEC J1, J2). */
    pendingUserId: string;
    /** When the password was proven: a session that goes no further ends soon after (S2). */
    passwordProvenAt: number;
    /** User Setup in progress, a draft the core keeps: nothing is saved until its last step (J2). */
    enrolmentDraftId: string;
    /** The call or text of the second step in flight. */
    verificationId: string;
    /**
     * The second step was proven with a PIN that must be changed (SPEC M5): the user whose new
     * PIN the session waits for before it is signed in.
     */
    pinChangeFor: string;
    /** When the user last proved a second factor: changes to factors need a recent one (J3). */
    provenAt: number;
    /** The account page to return to once the user has proved a factor again. */
    proofReturnTo: string;
    /**
     * A change of phone numbers waiting for each new number to answer (SPEC J3): the core's draft,
     * and nothing saved until the call or text to it succeeds.
     */
    phoneChangeDraftId: string;
    /** A mobile app activation from My account in progress: the core's draft (SPEC M3). */
    deviceDraftId: string;
  }
}

declare global {
  namespace Express {
    interface Locals {
      t: TFunction;
      lng: Language;
      basePath: string;
      currentPath: string;
      csrfToken: string;
      /** Where the visitor stands in the journey (SPEC S10). */
      journeyStage: JourneyStage;
      signedIn: boolean;
      /** SESSION_IDLE_MINUTES, for the session notice of signed-in pages (SPEC L4). */
      sessionIdleMinutes: number;
      /** How long the second step and User Setup may take after the password (SPEC L4). */
      pendingSessionMinutes: number;
      isAdmin: boolean;
      /** The signed-in user's account, or the one whose password was just proven. */
      user?: Account;
      pendingUser?: Account;
      /** Loaded with the journey for every visitor past the password. */
      portalSettings?: PortalSettings;
      /** Whether calls and texts can be made now. */
      telephony?: import('../core/method-policy.ts').Channels;
      /** What the signed-in user may change on My account. */
      can?: AccountPermissions;
      /** What the second step and the proof before a change offer the user now. */
      secondStep?: SecondStepOptions;
      /** On the proof pages (/account/confirm): how long a proof lasts. */
      proofMinutes?: number;
      /** The language a signed-in user just switched to, offered to save on their account. */
      languageOffer?: Language;
      /** Prefixes BASE_PATH to an absolute path inside the portal. */
      url: (path: string) => string;
    }
  }
}
