/**
 * Ports as NetworkPolicy means them: a number, a range (`endPort`), every
 * port of a protocol, or a named port that each destination pod resolves
 * from its own container ports — so one rule can mean different numbers on
 * different pods, and nothing at all on a pod without that name.
 */
import type { Pod, PortSpec } from './model.js';
import type { PortRange } from './plan.js';

/**
 * An IANA service name, as the API server checks a container port's or a
 * NetworkPolicy port's name: 1–15 lower-case letters, digits and '-', at
 * least one letter, not starting or ending with '-', no '--'.
 */
export function isPortName(name: string): boolean {
  return (
    name.length <= 15 &&
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) &&
    /[a-z]/.test(name) &&
    !name.includes('--')
  );
}

/** Every port of a protocol. */
export const ALL_PORTS: PortRange = { first: 0, last: 65535 };

/**
 * The destination port range `spec` allows on `pod` (the destination), or
 * null when it is a named port that `pod` does not declare for that protocol.
 * `pod` null (an address that is no pod) resolves named ports to nothing.
 */
export function resolvePortSpec(spec: PortSpec, pod: Pod | null): PortRange | null {
  if (spec.port === undefined) return ALL_PORTS;
  if (typeof spec.port === 'number') return { first: spec.port, last: spec.endPort ?? spec.port };
  const name = spec.port;
  const found = pod?.ports.find((p) => p.name === name && p.protocol === spec.protocol);
  return found ? { first: found.containerPort, last: found.containerPort } : null;
}

/** True when `spec` is a named port. */
export function isNamedPort(spec: PortSpec): boolean {
  return typeof spec.port === 'string';
}
