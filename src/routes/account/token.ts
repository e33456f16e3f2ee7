import { Router, type Response } from 'express';
import { newDeviceRow, proveNewDevice, type OtpDevice } from '../../core/devices.ts';
import { decodeBase32 } from '../../core/otp.ts';
import type { Services } from '../../services.ts';
import { readForm, type FieldError } from '../form.ts';
import { codeError, readCode } from '../setup/validation.ts';
import { changeContext, methodsWithout, removeFactorDevice } from './devices.ts';
import { requireChangeAllowed, requireRecentProof } from './permissions.ts';

const tokenChoices = {
  otpType: ['totp', 'hotp'],
  digits: ['6', '8'],
  period: ['30', '60'],
  algorithm: ['SHA1', 'SHA256', 'SHA512'],
} as const;

const tokenFields = [
  'serial',
  'secret',
  'otpType',
  'digits',
  'period',
  'algorithm',
  'code',
] as const;

type TokenForm = Record<(typeof tokenFields)[number], string>;

interface ProvenToken {
  serial: string;
  secret: Buffer;
  params: OtpDevice;
  proof: { lastStep: number | null; counter: number | null };
}

/**
 * The token form as User Setup checks it (SPEC M4): a serial, a Base32 secret of at least 128
 * bits, the token's kind, digits, time step and algorithm, and a code it shows now.
 */
function checkToken(form: TokenForm): { errors: FieldError[]; token?: ProvenToken } {
  const errors: FieldError[] = [];
  const serial = form.serial.trim();
  if (serial === '') errors.push({ field: 'serial', message: 'setup.token.errors.serialMissing' });
  else if (!/^[\w.-]{1,64}$/.test(serial)) {
    errors.push({ field: 'serial', message: 'setup.token.errors.serialFormat' });
  }
  let secret: Buffer | undefined;
  try {
    secret = decodeBase32(form.secret);
  } catch {
    secret = undefined;
  }
  if (form.secret.trim() === '') {
    errors.push({ field: 'secret', message: 'setup.token.errors.secretMissing' });
  } else if (!secret || secret.length < 16) {
    errors.push({ field: 'secret', message: 'setup.token.errors.secretFormat' });
  }
  const choose = <K extends keyof typeof tokenChoices>(
    key: K,
  ): (typeof tokenChoices)[K][number] | undefined => {
    const value = tokenChoices[key].find((choice) => choice === form[key]);
    if (value === undefined) {
      errors.push({ field: `${key}-0`, message: 'setup.token.errors.choose' });
    }
    return value;
  };
  const otpType = choose('otpType');
  const digits = choose('digits');
  const period = choose('period');
  const algorithm = choose('algorithm');
  const codeDigits = digits === '8' ? 8 : 6;
  errors.push(...codeError('code', form.code, [codeDigits]));
  const code = readCode(form.code, [codeDigits]);
  if (errors.length > 0 || !secret || !code || !otpType || !digits || !period || !algorithm) {
    return { errors };
  }
  const params: OtpDevice = {
    otpType,
    algorithm,
    digits: codeDigits,
    period: period === '60' ? 60 : 30,
  };
  const proof = proveNewDevice(secret, params, code, Date.now());
  if (!proof) return { errors: [{ field: 'code', message: 'codes.errors.wrong' }] };
  return { errors, token: { serial, secret, params, proof } };
}

/** SPEC J3, M4: associate one third-party OATH token, or remove it. */
export function tokenRoutes(services: Services): Router {
  const router = Router();
  router.use(
    '/account/token',
    requireChangeAllowed(services, 'token'),
    requireRecentProof(services),
  );

  const tokenOf = (res: Response) =>
    changeContext(res).enrolment.devices.find((d) => d.kind === 'token');

  function renderToken(
    res: Response,
    status: number,
    options: { values?: Partial<TokenForm>; errors?: FieldError[]; refusal?: string } = {},
  ) {
    res.status(status).render('pages/account/token', {
      token: tokenOf(res),
      values: options.values ?? {},
      choices: tokenChoices,
      errors: options.errors ?? [],
      refusal: options.refusal ?? '',
      formatDate: new Intl.DateTimeFormat(res.locals.lng, { dateStyle: 'medium' }),
    });
  }

  router.get('/account/token', (_req, res) => {
    renderToken(res, 200);
  });

  router.post('/account/token', async (req, res) => {
    const form = readForm(req.body, tokenFields);
    const { user } = changeContext(res);
    if (tokenOf(res)) {
      renderToken(res, 400, { refusal: 'tokenPage.onlyOne' });
      return;
    }
    const { errors, token } = checkToken(form);
    // A secret or code typed once is never shown again.
    const values = { ...form, secret: '', code: '' };
    if (!token) {
      renderToken(res, 400, { values, errors });
      return;
    }
    const row = newDeviceRow({
      userId: user.id,
      kind: 'token',
      name: token.serial,
      serial: token.serial,
      secret: token.secret,
      params: token.params,
      counter: token.proof.counter,
      lastStep: token.proof.lastStep,
      key: services.encryptionKey,
      now: Date.now(),
    });
    if (!(await services.devices.addWithinLimit(row, 1))) {
      renderToken(res, 400, { refusal: 'tokenPage.onlyOne' });
      return;
    }
    await services.changes.record(
      user,
      {
        type: 'token.added',
        method: 'token',
        device: token.serial,
        notice: 'factorAdded',
        what: 'token',
      },
      { clientIp: req.ip, language: res.locals.lng },
    );
    res.redirect(303, res.locals.url('/account?done=tokenAdded'));
  });

  router.get('/account/token/remove', (_req, res) => {
    const token = tokenOf(res);
    if (!token) {
      res.redirect(res.locals.url('/account/token'));
      return;
    }
    const lastMethod = methodsWithout(changeContext(res).enrolment, token).length === 0;
    res.render('pages/account/token-remove', { token, lastMethod, refused: false });
  });

  router.post('/account/token/remove', async (req, res) => {
    readForm(req.body, []);
    const token = tokenOf(res);
    if (!token) {
      res.redirect(303, res.locals.url('/account/token'));
      return;
    }
    const remaining = methodsWithout(changeContext(res).enrolment, token);
    if (remaining.length === 0) {
      res.status(400).render('pages/account/token-remove', {
        token,
        lastMethod: true,
        refused: true,
      });
      return;
    }
    await removeFactorDevice(services, res, token, remaining);
    res.redirect(303, res.locals.url('/account?done=tokenRemoved'));
  });

  return router;
}
