import type { RequestHandler } from 'express';
import { plainAddress } from '../core/trusted-ips.ts';

/**
 * The client's address in its plain form, once for everything that reads `req.ip`: audit
 * records, notices, Recent activity, trusted IPs and rate limits. On a dual-stack socket an IPv4
 * client would otherwise read as ::ffff:192.0.2.1.
 */
export function setUpClientAddress(): RequestHandler {
  return (req, _res, next) => {
    const address = req.ip;
    if (address !== undefined && address !== plainAddress(address)) {
      // Shadows Express's getter on this request only.
      Object.defineProperty(req, 'ip', { value: plainAddress(address), enumerable: true });
    }
    next();
  };
}
