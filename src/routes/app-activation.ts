import QRCode from 'qrcode';
import type { AppActivation } from '../core/devices.ts';
import { formatSecretForReading } from '../core/otp.ts';

/**
 * A new seed as a person adds it to an authenticator (SPEC M3): a QR code of the otpauth://
 * link, the link itself, and the key in groups of four for those who cannot scan.
 */
export async function activationFor({ secret, uri }: AppActivation) {
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return {
    qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
    uri,
    secret: formatSecretForReading(secret),
  };
}
