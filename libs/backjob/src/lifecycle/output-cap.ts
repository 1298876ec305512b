// The cap on a job's output (maxOutputBytes), one rule for every store and
// every write: a text longer than the cap keeps its head and its tail, with
// a line between them that says how much was cut. The head says how the
// job began, the tail how it ended, which is what a reader looks for.

// Bytes kept free for the line that says what was cut (it is far shorter).
const MARKER_RESERVE = 128;

/** The line that stands for the cut part. */
export function cutMarker(cutBytes: number): string {
  return `\n[… ${cutBytes} bytes cut: the output is longer than maxOutputBytes …]\n`;
}

/** How many bytes of the head and of the tail a capped text keeps. */
function budgets(maxBytes: number): { head: number; tail: number } {
  const room = maxBytes - MARKER_RESERVE;
  const head = Math.floor(room / 2);
  return { head, tail: room - head };
}

/**
 * `text` as every store keeps it: within `maxBytes` (see `capOutput`), and
 * with U+FFFD for each NUL character, which PostgreSQL's text refuses (a
 * job whose output held one could not end there); on every store alike.
 */
export function storableText(text: string, maxBytes: number): string {
  return capOutput(
    text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text,
    maxBytes,
  );
}

/** `text` within `maxBytes` of UTF-8: itself when it fits, else its head, a marker and its tail. */
export function capOutput(text: string, maxBytes: number): string {
  // A UTF-8 byte per UTF-16 unit at least, three at most: skip the encoding when it surely fits.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.byteLength(text);
  return bytes <= maxBytes ? text : joinCapped(text, text, bytes, maxBytes);
}

/**
 * The capped text of an output of `totalBytes`, from a prefix (`head`) and
 * a suffix (`tail`) of it that are at least as long as the cap keeps.
 */
function joinCapped(
  head: string,
  tail: string,
  totalBytes: number,
  maxBytes: number,
): string {
  const budget = budgets(maxBytes);
  const kept = {
    head: headBytes(Buffer.from(head), budget.head),
    tail: tailBytes(Buffer.from(tail), budget.tail),
  };
  const cut = totalBytes - kept.head.length - kept.tail.length;
  return `${kept.head.toString('utf8')}${cutMarker(cut)}${kept.tail.toString('utf8')}`;
}

// Cut at a character boundary: a UTF-8 continuation byte is 10xxxxxx.
const isContinuation = (byte: number | undefined) =>
  byte !== undefined && (byte & 0xc0) === 0x80;

function headBytes(buffer: Buffer, max: number): Buffer {
  if (buffer.length <= max) return buffer;
  let end = max;
  while (end > 0 && isContinuation(buffer[end])) end--;
  return buffer.subarray(0, end);
}

function tailBytes(buffer: Buffer, max: number): Buffer {
  if (buffer.length <= max) return buffer;
  let start = buffer.length - max;
  while (start < buffer.length && isContinuation(buffer[start])) start++;
  return buffer.subarray(start);
}

/**
 * A job's running output in memory, capped like what is stored: it keeps
 * the whole text until it is twice the cap, then a fixed head and a rolling
 * tail, so that a job writing gigabytes holds about three times the cap.
 */
export class CappedOutput {
  private head = '';
  private tail = '';
  private tailBytes = 0;
  private totalBytes = 0;
  private overflowed = false;
  private cached: string | null = '';

  constructor(private readonly maxBytes: number) {}

  append(chunk: string): void {
    if (!chunk) return;
    const bytes = Buffer.byteLength(chunk);
    this.totalBytes += bytes;
    this.tail += chunk;
    this.tailBytes += bytes;
    this.cached = null;
    if (this.tailBytes <= 2 * this.maxBytes) return;
    if (!this.overflowed) {
      this.overflowed = true;
      this.head = headBytes(Buffer.from(this.tail), this.maxBytes).toString(
        'utf8',
      );
    }
    const kept = tailBytes(Buffer.from(this.tail), this.maxBytes);
    this.tail = kept.toString('utf8');
    this.tailBytes = kept.length;
  }

  /** The output so far, within the cap. */
  text(): string {
    this.cached ??= this.overflowed
      ? joinCapped(this.head, this.tail, this.totalBytes, this.maxBytes)
      : capOutput(this.tail, this.maxBytes);
    return this.cached;
  }
}
