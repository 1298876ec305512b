import { CappedOutput, capOutput, storableText } from './output-cap.js';

describe('capOutput', () => {
  it('keeps a text that fits', () => {
    expect(capOutput('short', 1024)).toBe('short');
    expect(capOutput('é'.repeat(512), 1024)).toBe('é'.repeat(512));
  });

  it('keeps the head and the tail of a longer one, within the cap, saying how much was cut', () => {
    const text = `BEGIN${'x'.repeat(10_000)}END`;
    const capped = capOutput(text, 1024);
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(1024);
    expect(capped.startsWith('BEGIN')).toBe(true);
    expect(capped.endsWith('END')).toBe(true);
    const [, cut] = /\[… (\d+) bytes cut/.exec(capped)!;
    const marker = /\n\[…[^\n]*…\]\n/.exec(capped)![0];
    expect(
      Number(cut) + Buffer.byteLength(capped) - Buffer.byteLength(marker),
    ).toBe(Buffer.byteLength(text));
  });

  it('never splits a character', () => {
    const capped = capOutput('€'.repeat(5000), 1024);
    expect(capped).not.toContain('\uFFFD');
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(1024);
  });

  it('changes nothing when applied again', () => {
    const once = capOutput('y'.repeat(50_000), 2048);
    expect(capOutput(once, 2048)).toBe(once);
  });
});

describe('CappedOutput', () => {
  it('holds what capOutput would keep of everything written, in bounded memory', () => {
    const max = 4096;
    const output = new CappedOutput(max);
    const chunks: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const chunk = `${i}:${'ü'.repeat(i % 97)};`;
      chunks.push(chunk);
      output.append(chunk);
      if (i % 250 === 0)
        expect(output.text()).toBe(capOutput(chunks.join(''), max));
      const held = output as unknown as { head: string; tail: string };
      expect(Buffer.byteLength(held.head + held.tail)).toBeLessThanOrEqual(
        3 * max + 400,
      );
    }
    expect(output.text()).toBe(capOutput(chunks.join(''), max));
  });
});

describe('storableText', () => {
  it('puts U+FFFD for each NUL, and caps what that makes (three bytes for one)', () => {
    expect(storableText('a\u0000b\u0000', 1024)).toBe('a\uFFFDb\uFFFD');
    const capped = storableText('\u0000'.repeat(1000), 1024);
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(1024);
    expect(capped).not.toContain('\u0000');
  });
});
