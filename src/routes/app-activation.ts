import type { Response } from 'express';
import QRCode from 'qrcode';
import { appDeviceParameters } from '../core/devices.ts';
import { encodeBase32, formatSecretForReading, otpauthUri } from '../core/otp.ts';
import type { UserRow } from '../data/users-repository.ts';

/**
 * What a person needs to add a new seed to an authenticator (SPEC M3): a QR code, the
 * otpauth:// link, and the key in groups for those who cannot scan.
 */
export async function activationFor(res: Response, user: UserRow, secret: Buffer) {
  const uri = otpauthUri({
    type: 'totp',
    issuer: res.locals.t('common.productName'),
    account: user.username,
    secret,
    params: appDeviceParameters,
  });
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return {
    qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
    uri,
    secret: formatSecretForReading(encodeBase32(secret)),
  };
}
