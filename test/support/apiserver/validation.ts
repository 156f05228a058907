/**
 * The few checks of kube-apiserver's decoding and validation that nftpol's
 * writes have tripped over, so the embedded server refuses what the real one
 * refuses (a fake that accepts more than the real server hid a controller
 * that could never become leader). One function per resource, called on
 * every object about to be stored.
 */
import { ApiError } from './errors.js';
import type { ResourceDef } from './resources.js';
import { isJsonMap, type JsonMap } from './json.js';

/** metav1.MicroTime as the API server parses it: exactly six fractional digits. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const MICRO_TIME_LAYOUT = '2006-01-02T15:04:05.000000Z07:00';

/**
 * @throws ApiError BadRequest (400) with the server's wording when a Lease's
 *   `acquireTime` or `renewTime` is not a MicroTime.
 */
export function validateObject(def: ResourceDef, object: JsonMap): void {
  if (def.plural !== 'leases') return;
  const spec = isJsonMap(object['spec']) ? object['spec'] : {};
  for (const field of ['acquireTime', 'renewTime']) {
    const value = spec[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || !MICRO_TIME.test(value))
      throw new ApiError(
        'BadRequest',
        `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(value)} as ${JSON.stringify(MICRO_TIME_LAYOUT)}: cannot parse ${JSON.stringify(typeof value === 'string' ? value.slice(19) : '')} as ".000000"`,
      );
  }
}
