/**
 * Voice and SMS providers behind one small interface (SPEC N1). It follows Twilio's model: the
 * portal places a call or sends a text, and the provider later reports what happened (keys
 * pressed after <Gather>, a missed call, a reply) through the core's handlers.
 */
export interface Telephony {
  placeCall(call: {
    verificationId: string;
    to: string;
    extension: string | null;
    /** What the voice says, in the user's language. */
    prompt: string;
  }): Promise<void>;
  sendText(text: { verificationId: string | null; to: string; body: string }): Promise<void>;
}

/** What a provider reports back about a call or text (webhooks, or the simulator's page). */
export interface TelephonyEvents {
  keypadInput(verificationId: string, digits: string): Promise<void>;
  callUnanswered(verificationId: string): Promise<void>;
  textReply(from: string, body: string): Promise<void>;
}
