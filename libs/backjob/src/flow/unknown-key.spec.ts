import { Logger } from '@nestjs/common';
import { RequestSigner } from './request-signer.js';
import { UnknownKeyLog } from './unknown-key.js';
import { RecordingLogger } from '../../../../test/fixtures/boot.js';

const target = { method: 'GET', path: '/reports' };
const JOB_ID = '01a24265-d747-7c74-935d-b7ba4d29a57c';

describe('UnknownKeyLog', () => {
  let logger: RecordingLogger;
  beforeEach(() => Logger.overrideLogger((logger = new RecordingLogger())));
  afterEach(() => Logger.overrideLogger(false));

  const ours = new RequestSigner('a'.repeat(32), []);
  const stranger = new RequestSigner('b'.repeat(32), []);
  const forged = stranger.sign(JOB_ID, 'worker', target, 60);

  it('names the key id of a token signed with a key it lacks, and nothing for its own', () => {
    const log = new UnknownKeyLog(ours);
    const keyId = log.keyIdOf(forged);
    expect(keyId).toMatch(/^[0-9a-f]+$/);
    expect(log.keyIdOf(ours.sign(JOB_ID, 'worker', target, 60))).toBeNull();
    expect(logger.warningMessages).toEqual([
      expect.stringContaining(
        `refused an internal request signed with key ${keyId}, which this instance does not have`,
      ),
    ]);
    expect(logger.warningMessages.join('\n')).not.toContain('b'.repeat(32));
  });

  it('logs ten refusals a minute, says it goes quiet, then counts the rest when the minute is over', () => {
    const log = new UnknownKeyLog(ours);
    const start = 1_000_000;
    for (let i = 0; i < 25; i++) log.keyIdOf(forged, undefined, start + i);
    expect(logger.warningMessages).toHaveLength(11);
    expect(logger.warningMessages[10]).toBe(
      'BackJob refused 10 internal requests signed with keys it does not have within 60 s; it logs no more of them until 60 s have passed, then says how many there were. Many of them from outside mean someone sends forged tokens: nothing runs for them.',
    );
    log.keyIdOf(forged, undefined, start + 60_000);
    expect(logger.warningMessages.slice(11)).toEqual([
      'BackJob refused 15 more internal requests signed with keys it does not have, not logged one by one.',
      expect.stringContaining('which this instance does not have'),
    ]);
  });
});
