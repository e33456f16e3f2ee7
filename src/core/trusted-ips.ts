import { BlockList, isIP } from 'node:net';

export class TrustedIpError extends Error {
  override name = 'TrustedIpError';
}

function family(address: string): 'ipv4' | 'ipv6' {
  const version = isIP(address);
  if (version === 0) throw new TrustedIpError(`"${address}" is not an IPv4 or IPv6 address`);
  return version === 4 ? 'ipv4' : 'ipv6';
}

/**
 * A client address in its plain form: on a dual-stack socket Node reports an IPv4 client as
 * ::ffff:192.0.2.1, which is 192.0.2.1.
 */
export function plainAddress(address: string): string {
  return /^::ffff:/i.test(address) && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * Trusted IPs (SPEC J1, §5): single addresses, ranges "first-last" and CIDR blocks, IPv4 and IPv6.
 * Node's BlockList does the matching; this only reads the administrator's list into it.
 */
export function parseTrustedIps(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry.includes('/')) {
      const [network = '', bits = ''] = entry.split('/');
      const type = family(network);
      const prefix = Number(bits);
      if (!/^\d+$/.test(bits) || prefix > (type === 'ipv4' ? 32 : 128)) {
        throw new TrustedIpError(`"${entry}" has an invalid prefix length`);
      }
      list.addSubnet(network, prefix, type);
    } else if (entry.includes('-')) {
      const [first = '', last = ''] = entry.split('-').map((part) => part.trim());
      const type = family(first);
      if (family(last) !== type) throw new TrustedIpError(`"${entry}" mixes IPv4 and IPv6`);
      try {
        list.addRange(first, last, type);
      } catch {
        throw new TrustedIpError(`"${entry}" ends before it starts`);
      }
    } else {
      list.addAddress(entry, family(entry));
    }
  }
  return list;
}

export function isTrustedIp(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  const client = plainAddress(address);
  const version = isIP(client);
  return version !== 0 && list.check(client, version === 4 ? 'ipv4' : 'ipv6');
}
