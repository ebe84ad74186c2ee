/** Which listening addresses other hosts reach, and the warning for one without TLS. */
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, plainListenWarning } from '../src/config/index.js';

describe('listening addresses', () => {
  it("counts only this host's addresses as loopback", () => {
    for (const h of [
      '127.0.0.1',
      '127.8.9.10',
      'localhost',
      'LOCALHOST',
      'app.localhost',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of [
      '0.0.0.0',
      '::',
      '[::]',
      '10.0.0.5',
      '192.168.1.2',
      'bank-host.example',
      '::ffff:10.0.0.1',
      '128.0.0.1',
    ])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it('warns about a server beyond this host without TLS, naming how to give it TLS', () => {
    expect(plainListenWarning('the bank console', '127.0.0.1', false, '--x')).toBeNull();
    expect(plainListenWarning('the bank console', '0.0.0.0', true, '--x')).toBeNull();
    expect(plainListenWarning('the bank console', '0.0.0.0', false, '--console-tls-cert and --console-tls-key')).toBe(
      'the bank console listens on 0.0.0.0 without TLS: passwords and session cookies cross the network in the clear. ' +
        'Give --console-tls-cert and --console-tls-key, or keep it on 127.0.0.1 behind a TLS-terminating proxy',
    );
  });
});
