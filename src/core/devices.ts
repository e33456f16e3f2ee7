import { randomUUID } from 'node:crypto';
import type { DeviceRow, DevicesRepository, NewDevice } from '../data/devices-repository.ts';
import {
  decodeBase32,
  encodeBase32,
  otpauthUri,
  resyncHotp,
  verifyHotp,
  verifyTotp,
  type HotpParameters,
  type OtpAlgorithm,
  type TotpParameters,
} from './otp.ts';
import { open, seal } from './secret-box.ts';

/** What a device's code check needs, whether it is saved yet (enrolment) or not. */
export interface OtpDevice {
  otpType: 'totp' | 'hotp';
  algorithm: OtpAlgorithm;
  digits: 6 | 8;
  period: 30 | 60;
}

export const appDeviceParameters: OtpDevice = {
  otpType: 'totp',
  algorithm: 'SHA1',
  digits: 6,
  period: 30,
};

/** What an authenticator app needs to take a new seed (SPEC M3): the key and its otpauth:// link. */
export interface AppActivation {
  /** The seed in Base32, as a person would type it. */
  secret: string;
  uri: string;
}

/** `issuer` is the portal's name as the app will show it, `account` the user's username. */
export function appActivation(secret: Buffer, account: string, issuer: string): AppActivation {
  return {
    secret: encodeBase32(secret),
    uri: otpauthUri({ type: 'totp', issuer, account, secret, params: appDeviceParameters }),
  };
}

/** The seed is bound to its row: copied onto another device's row it will not decrypt. */
function associatedData(deviceId: string): string {
  return `device:${deviceId}`;
}

export function sealDeviceSecret(secret: Buffer, deviceId: string, key: Buffer): string {
  return seal(secret, key, associatedData(deviceId));
}

export function openDeviceSecret(device: Pick<DeviceRow, 'id' | 'secret'>, key: Buffer): Buffer {
  return open(device.secret, key, associatedData(device.id));
}

export function newDeviceRow(input: {
  userId: string;
  kind: 'app' | 'token';
  name: string;
  serial: string | null;
  secret: Buffer;
  params: OtpDevice;
  /** HOTP: the counter after the codes the user proved the token with. */
  counter: number | null;
  lastStep: number | null;
  key: Buffer;
  now: number;
}): NewDevice {
  const id = randomUUID();
  return {
    id,
    user_id: input.userId,
    kind: input.kind,
    name: input.name,
    serial: input.serial,
    secret: sealDeviceSecret(input.secret, id, input.key),
    otp_type: input.params.otpType,
    algorithm: input.params.algorithm,
    digits: input.params.digits,
    period: input.params.period,
    // An HOTP counter always has a value, so that its compare-and-set can match it.
    counter: input.params.otpType === 'hotp' ? (input.counter ?? 0) : input.counter,
    last_step: input.lastStep,
    created_at: input.now,
  };
}

function totpParameters(device: OtpDevice): TotpParameters {
  return { algorithm: device.algorithm, digits: device.digits, period: device.period };
}

function hotpParameters(device: OtpDevice): HotpParameters {
  return { algorithm: device.algorithm, digits: device.digits };
}

/**
 * Checks a code against a device not yet saved (enrolment): returns what to store with it, the
 * TOTP step or the next HOTP counter, or undefined when the code is wrong.
 */
export function proveNewDevice(
  secret: Buffer,
  params: OtpDevice,
  code: string,
  now: number,
): { lastStep: number | null; counter: number | null } | undefined {
  if (params.otpType === 'totp') {
    const step = verifyTotp(secret, code, now, totpParameters(params));
    return step === undefined ? undefined : { lastStep: step, counter: null };
  }
  const matched = verifyHotp(secret, code, 0, hotpParameters(params), { lookAhead: 100 });
  return matched === undefined ? undefined : { lastStep: null, counter: matched + 1 };
}

function paramsOf(device: DeviceRow): OtpDevice {
  return {
    otpType: device.otp_type,
    algorithm: device.algorithm,
    digits: device.digits === 8 ? 8 : 6,
    period: device.period === 60 ? 60 : 30,
  };
}

/**
 * SPEC M3, M4, M8, S6: a code from any of the given devices, each value accepted once per user
 * across instances. Returns the device that accepted it.
 */
export async function acceptDeviceCode(
  devices: DevicesRepository,
  candidates: readonly DeviceRow[],
  code: string,
  key: Buffer,
  now: number,
): Promise<DeviceRow | undefined> {
  for (const device of candidates) {
    const secret = openDeviceSecret(device, key);
    const params = paramsOf(device);
    if (params.otpType === 'totp') {
      const step = verifyTotp(secret, code, now, totpParameters(params), {
        lastAcceptedStep: device.last_step ?? undefined,
      });
      if (step !== undefined && (await devices.acceptTotpStep(device.id, step))) return device;
    } else {
      const counter = device.counter ?? 0;
      const matched = verifyHotp(secret, code, counter, hotpParameters(params));
      if (
        matched !== undefined &&
        (await devices.advanceHotpCounter(device.id, counter, matched + 1))
      ) {
        return device;
      }
    }
  }
  return undefined;
}

/**
 * SPEC M4: an HOTP token pressed many times away from the portal is brought back in step by two
 * consecutive codes; its counter then moves past them, so neither can be used again (S6).
 * Returns whether the token accepted them.
 */
export async function resyncHotpDevice(
  devices: DevicesRepository,
  device: DeviceRow,
  codes: readonly [string, string],
  key: Buffer,
): Promise<boolean> {
  const params = paramsOf(device);
  if (params.otpType !== 'hotp') return false;
  const counter = device.counter ?? 0;
  const secret = openDeviceSecret(device, key);
  const next = resyncHotp(secret, codes[0], codes[1], counter, hotpParameters(params));
  return next !== undefined && devices.advanceHotpCounter(device.id, counter, next);
}

export function parseTokenSecret(text: string): Buffer {
  return decodeBase32(text);
}
