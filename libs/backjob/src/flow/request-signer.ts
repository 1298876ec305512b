import { createHmac, timingSafeEqual } from 'node:crypto';

/** The kinds of internal request: a job's two, and the startup self-check. */
export type InternalPhase = 'monitor' | 'worker' | 'ping';

/** What a token is bound to, besides its job. */
export interface SignedTarget {
  method: string;
  /** Path as the app sees it, without the query string. */
  path: string;
}

const VERSION = 'v1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIGNATURE_LENGTH = 43; // 32 bytes of HMAC-SHA256 in base64url

/**
 * Signs and verifies internal requests: HMAC-SHA256 over the job id, the
 * phase, the method, the path and an expiry, compared in constant time.
 * Anything malformed verifies as "not an internal request", never as an error.
 */
export class RequestSigner {
  constructor(private readonly key: string) {}

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
      this.signature(jobId, phase, target, expires),
    ].join('.');
  }

  /** The job id the token was issued for, or `null`. */
  verify(
    token: unknown,
    phase: InternalPhase,
    target: SignedTarget,
  ): string | null {
    if (typeof token !== 'string' || token.length > 200) return null;
    const [version, tokenPhase, jobId, expiresText, signature, ...rest] =
      token.split('.');
    if (version !== VERSION || tokenPhase !== phase || rest.length > 0)
      return null;
    if (!UUID.test(jobId ?? '') || !/^\d{1,12}$/.test(expiresText ?? ''))
      return null;
    const expires = Number(expiresText);
    if (expires * 1000 < Date.now()) return null;
    if (signature?.length !== SIGNATURE_LENGTH) return null;
    const expected = Buffer.from(
      this.signature(jobId, phase, target, expires),
      'base64url',
    );
    const given = Buffer.from(signature, 'base64url');
    // A garbled base64url string decodes to fewer bytes: timingSafeEqual would throw.
    if (given.length !== expected.length) return null;
    return timingSafeEqual(given, expected) ? jobId : null;
  }

  private signature(
    jobId: string,
    phase: InternalPhase,
    target: SignedTarget,
    expires: number,
  ) {
    return createHmac('sha256', this.key)
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
