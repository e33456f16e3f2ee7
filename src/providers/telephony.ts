/**
 * Voice and SMS providers behind one small interface (SPEC N1). It follows Twilio's model: the
 * portal places a call or sends a text, and the provider later reports what happened (keys
 * pressed after <Gather>, a missed call, a failed delivery, a reply) through the core's handlers.
 */
export interface Telephony {
  /** Resolves with the provider's id of the call (Twilio's CallSid), or null when it has none. */
  placeCall(call: {
    verificationId: string;
    to: string;
    extension: string | null;
    /** What the voice says, in the user's language. */
    prompt: string;
    /** The user's language (en, nl, fr): the voice that says it. */
    language: string;
  }): Promise<Sent>;
  /** Resolves with the provider's id of the text (MessageSid, a gateway's id), or null. */
  sendText(text: { verificationId: string | null; to: string; body: string }): Promise<Sent>;
}

export interface Sent {
  ref: string | null;
}

/**
 * The provider did not take the call or text: unreachable, too slow, or it said no. The message
 * says why, for the audit and the log; it never holds a secret.
 */
export class TelephonyError extends Error {
  override name = 'TelephonyError';
}

/**
 * A provider's report about one call or text. `ref` is the provider's id of it: a report whose
 * id is not the one of the call or text now under way (an earlier call of the attempt, another
 * attempt's) changes nothing.
 */
export interface Report {
  verificationId: string;
  ref?: string | undefined;
}

/** What a provider reports back about a call or text (webhooks, or the simulator's page). */
export interface TelephonyEvents {
  keypadInput(report: Report & { digits: string }): Promise<void>;
  /** Not answered: no answer, busy, failed. */
  callUnanswered(report: Report): Promise<void>;
  /** Answered and hung up before any key settled it. */
  callEnded(report: Report): Promise<void>;
  /** The text could not be delivered. */
  textUndelivered(report: Report): Promise<void>;
  textReply(reply: { from: string; body: string; ref?: string | undefined }): Promise<void>;
}

/** Which channels a provider is set up for: a method without its channel is not offered. */
export interface Channels {
  phone: boolean;
  sms: boolean;
}
