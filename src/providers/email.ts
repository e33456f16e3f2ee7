import nodemailer from 'nodemailer';
import type { Config } from '../config/index.ts';

/** Email behind the same kind of small interface as calls and texts (SPEC N1). */
export interface Email {
  send(message: { to: string; subject: string; text: string; language: string }): Promise<void>;
}

/** How email is set up (SPEC N2), for the console to show: deployment configuration, no secret. */
export interface SmtpState {
  /** Empty: no email. */
  host: string;
  port: number;
  secure: boolean;
  /** Whether the portal signs in to the server; never the password. */
  authenticated: boolean;
  from: string;
}

export function smtpState(config: Config): SmtpState {
  return {
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: config.SMTP_SECURE,
    authenticated: config.SMTP_USER !== '',
    from: config.SMTP_FROM,
  };
}

/** SMTP through nodemailer, from configuration; undefined when no SMTP_HOST is set. */
export function createSmtpEmail(config: Config): Email | undefined {
  if (config.SMTP_HOST === '') return undefined;
  const transport = nodemailer.createTransport({
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: config.SMTP_SECURE,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    ...(config.SMTP_USER === ''
      ? {}
      : { auth: { user: config.SMTP_USER, pass: config.SMTP_PASSWORD } }),
  });
  return {
    async send({ to, subject, text, language }) {
      await transport.sendMail({
        from: config.SMTP_FROM,
        to,
        subject,
        text,
        headers: { 'Content-Language': language },
      });
    },
  };
}
