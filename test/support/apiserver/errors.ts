/**
 * API errors as the real API server reports them: a `metav1.Status` body with
 * an HTTP code and a machine-readable `reason`. client-node surfaces the body
 * as `ApiException.body`, so callers (and tests) can branch on `reason` and
 * `code` exactly as they would against a real cluster.
 */

/** metav1.StatusReason values this server produces. */
export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'Expired'
  | 'InternalError';

const CODES: Readonly<Record<StatusReason, number>> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  BadRequest: 400,
  MethodNotAllowed: 405,
  UnsupportedMediaType: 415,
  RequestEntityTooLarge: 413,
  Expired: 410,
  InternalError: 500,
};

/** `details` of a Status: which object the error is about. */
export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  /** The resource (plural), as the real server fills it. */
  readonly kind?: string;
}

/** A metav1.Status failure body. */
export interface StatusBody {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: StatusReason;
  readonly details?: StatusDetails;
  readonly code: number;
}

/** An error that becomes a Status response. */
export class ApiError extends Error {
  readonly reason: StatusReason;
  readonly code: number;
  readonly details: StatusDetails | undefined;

  constructor(reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
    this.reason = reason;
    this.code = CODES[reason];
    this.details = details;
  }

  /** The Status body to send. */
  toStatus(): StatusBody {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details === undefined ? {} : { details: this.details }),
      code: this.code,
    };
  }
}

/** `pods "web" not found`. */
export function notFound(group: string, plural: string, name: string): ApiError {
  return new ApiError('NotFound', `${qualified(group, plural)} "${name}" not found`, {
    name,
    group,
    kind: plural,
  });
}

/** `pods "web" already exists`. */
export function alreadyExists(group: string, plural: string, name: string): ApiError {
  return new ApiError('AlreadyExists', `${qualified(group, plural)} "${name}" already exists`, {
    name,
    group,
    kind: plural,
  });
}

/** The optimistic-concurrency failure, worded as the real server words it. */
export function conflict(group: string, plural: string, name: string, why?: string): ApiError {
  const reason =
    why ??
    'the object has been modified; please apply your changes to the latest version and try again';
  return new ApiError(
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(group, plural)} "${name}": ${reason}`,
    { name, group, kind: plural },
  );
}

function qualified(group: string, plural: string): string {
  return group === '' ? plural : `${plural}.${group}`;
}
