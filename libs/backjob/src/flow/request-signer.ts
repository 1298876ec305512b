import {
  createHash,
  createHmac,
  createSecretKey,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

/** The kinds of internal request: a job's two, and the startup self-check. */
export type InternalPhase = 'monitor' | 'worker' | 'ping';

/** What a token is bound to, besides its job. */
export interface SignedTarget {
  method: string;
  /** Path as the app sees it, without the query string. */
  path: string;
}

// v2 names the key it was signed with, so that keys can rotate.
const VERSION = 'v2';
const KEY_ID = /^[0-9a-f]{8}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIGNATURE_LENGTH = 43; // 32 bytes of HMAC-SHA256 in base64url

/**
 * A key's public name, in tokens and logs: the first 8 hex digits of its
 * SHA-256. It tells keys apart without telling anything about them.
 */
export function keyId(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Signs and verifies internal requests: HMAC-SHA256 over the job id, the
 * phase, the method, the path and an expiry, compared in constant time.
 * Tokens are signed with `key` and name it by its id; tokens signed with
 * one of `previousKeys` verify too, so that instances can change keys one
 * after the other. Anything malformed verifies as "not an internal
 * request", never as an error.
 */
export class RequestSigner {
  // Key objects, made once: createHmac() turns a string key into one at
  // every call, and there are two per job.
  private readonly keys: ReadonlyMap<string, KeyObject>;
  private readonly currentKeyId: string;

  constructor(key: string, previousKeys: readonly string[] = []) {
    this.currentKeyId = keyId(key);
    this.keys = new Map(
      [key, ...previousKeys]
        .reverse()
        .map((k) => [keyId(k), createSecretKey(Buffer.from(k))] as const),
    );
  }

  sign(
    jobId: string,
    phase: InternalPhase,
    target: SignedTarget,
    ttlSeconds: number,
  ): string {
    const expires = Math.ceil(Date.now() / 1000 + ttlSeconds);
    return [
      VERSION,
      phase,
      jobId,
      expires,
      this.currentKeyId,
      this.signature(
        this.keys.get(this.currentKeyId)!,
        jobId,
        phase,
        target,
        expires,
      ),
    ].join('.');
  }

  /** The job id the token was issued for, or `null`. */
  verify(
    token: unknown,
    phase: InternalPhase,
    target: SignedTarget,
  ): string | null {
    const verified = this.verifyAny(token, target);
    return verified?.phase === phase ? verified.jobId : null;
  }

  /**
   * The phase and job of a valid token, whichever phase it names: one HMAC
   * per request, however many kinds of internal request the caller tells
   * apart. `null` for anything else.
   */
  verifyAny(
    token: unknown,
    target: SignedTarget,
  ): { phase: InternalPhase; jobId: string } | null {
    const parsed = parse(token);
    if (!parsed) return null;
    const { phase, jobId, expires, signature } = parsed;
    const key = this.keys.get(parsed.keyId);
    if (key === undefined || expires * 1000 < Date.now()) return null;
    const expected = Buffer.from(
      this.signature(key, jobId, phase, target, expires),
      'base64url',
    );
    const given = Buffer.from(signature, 'base64url');
    // A garbled base64url string decodes to fewer bytes: timingSafeEqual would throw.
    if (given.length !== expected.length) return null;
    return timingSafeEqual(given, expected) ? { phase, jobId } : null;
  }

  /**
   * The key id of a well-formed token (of `phase`, when given) signed with a
   * key this instance does not have (another deployment, or a rotation half
   * done), else `null`.
   */
  unknownKeyId(token: unknown, phase?: InternalPhase): string | null {
    const parsed = parse(token);
    if (!parsed || (phase !== undefined && parsed.phase !== phase)) return null;
    return this.keys.has(parsed.keyId) ? null : parsed.keyId;
  }

  private signature(
    key: KeyObject,
    jobId: string,
    phase: InternalPhase,
    target: SignedTarget,
    expires: number,
  ) {
    return createHmac('sha256', key)
      .update(
        [
          `backjob.${VERSION}`,
          phase,
          jobId,
          target.method.toUpperCase(),
          target.path,
          expires,
        ].join('\n'),
      )
      .digest('base64url');
  }
}

/** The parts of a well-formed token, or `null`; says nothing of its signature yet. */
function parse(token: unknown) {
  if (typeof token !== 'string' || token.length > 200) return null;
  const [version, phase, jobId, expiresText, id, signature, ...rest] =
    token.split('.');
  if (version !== VERSION || rest.length > 0) return null;
  if (!UUID.test(jobId ?? '') || !/^\d{1,12}$/.test(expiresText ?? ''))
    return null;
  if (!KEY_ID.test(id ?? '') || signature?.length !== SIGNATURE_LENGTH)
    return null;
  if (phase !== 'monitor' && phase !== 'worker' && phase !== 'ping')
    return null;
  return {
    phase: phase as InternalPhase,
    jobId: jobId!,
    expires: Number(expiresText),
    keyId: id!,
    signature,
  };
}
