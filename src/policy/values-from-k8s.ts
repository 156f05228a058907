/**
 * Protocols, port numbers and names, and CIDRs, read as the API server
 * validates them wherever they appear: policy ports and ipBlocks, container
 * ports, a node's pod CIDRs. One reading for all, so a value the policy
 * conversion rejects is never accepted on a pod or a node.
 *
 * Pure: no I/O.
 */
import { formatIp, hasHostBits, isIp, parseCidr, strictCidrSpelling, type Range } from './cidr.js';
import { type JsonObject, type Report, PROTOCOLS, fail, own, show, warn } from './k8s-read.js';
import type { Protocol } from './model.js';
import { isPortName } from './ports.js';

/** `protocol` of `obj`, TCP when absent; undefined (and an error) when unknown. */
export function readProtocol(r: Report, obj: JsonObject, path: string): Protocol | undefined {
  const raw = own(obj, 'protocol');
  if (raw === undefined) return 'TCP';
  const found = PROTOCOLS.find((p) => p === raw);
  if (found) return found;
  const hint = typeof raw === 'string' && PROTOCOLS.find((p) => p === raw.toUpperCase());
  fail(
    r,
    path,
    `unknown protocol ${show(raw)}; use ${hint ? `"${hint}" (upper case)` : 'TCP, UDP or SCTP'}`,
  );
  return undefined;
}

export function checkPortNumber(r: Report, n: number, path: string, what: string): boolean {
  if (Number.isInteger(n) && n >= 1 && n <= 65535) return true;
  // The API server decodes ports into int32: 80.5 never reaches its range check.
  const why = Number.isInteger(n) ? 'is out of range 1–65535' : 'is not an integer';
  fail(r, path, `${what} ${n} ${why}`);
  return false;
}

/** IANA_SVC_NAME, as the API server checks named ports. */
export function checkPortName(r: Report, name: string, path: string): boolean {
  if (/^[0-9]+$/.test(name)) {
    fail(r, path, `port "${name}" is a string; write a numeric port as a number (port: ${name})`);
    return false;
  }
  if (!isPortName(name)) {
    fail(
      r,
      path,
      `invalid port name "${name}": at most 15 lower-case letters, digits and '-', with a letter, not starting or ending with '-'`,
    );
    return false;
  }
  return true;
}

/** A CIDR that passed {@link checkCidr}: its range, and its strict spelling. */
export interface CheckedCidr extends Range {
  /** `text` itself, or its strict spelling when it was written in a legacy form. */
  readonly text: string;
}

/**
 * Parses a CIDR as the API server does: a prefix length is required; legacy
 * leading zeros (`010.0.0.0/08`) are accepted as decimal and rewritten, with
 * a warning; host bits set are accepted with a warning.
 */
export function checkCidr(r: Report, given: string, path: string): CheckedCidr | undefined {
  if (given === '') {
    fail(r, path, 'Invalid value: "": must be a CIDR, e.g. "10.9.8.0/24" or "2001:db8::/64"');
    return undefined;
  }
  const strict = strictCidrSpelling(given);
  if (strict !== null) {
    warn(
      r,
      path,
      `"${given}" has leading zeros; they are read as decimal, as the API server reads them: "${strict}" (write it so)`,
    );
  }
  const text = strict ?? given;
  const slash = text.indexOf('/');
  if (slash < 0) {
    const example = `${text}/${text.includes(':') ? 128 : 32}`;
    fail(r, path, `"${text}" is not a CIDR: add a prefix length, e.g. "${example}"`);
    return undefined;
  }
  const address = text.slice(0, slash);
  if (!isIp(address)) {
    fail(r, path, `invalid CIDR "${text}": "${address}" is not an IP address`);
    return undefined;
  }
  let range: Range;
  try {
    range = parseCidr(text);
  } catch {
    const max = address.includes(':') ? 128 : 32;
    fail(r, path, `invalid CIDR "${text}": the prefix length must be a number from 0 to ${max}`);
    return undefined;
  }
  if (hasHostBits(text)) {
    const network = `${formatIp({ family: range.family, value: range.first })}${text.slice(slash)}`;
    warn(r, path, `"${given}" has host bits set; it is read as "${network}"`);
  }
  return { ...range, text };
}
