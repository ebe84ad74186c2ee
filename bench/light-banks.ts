/**
 * The parent side of the light bank clients (light-bank.ts): `LightBanks.spawn()` starts the
 * driver in a child process, and `start()`, `report()`, `post()` and `stop()` talk to it over IPC
 * (driver-process.ts).
 */
import { DriverProcess } from './driver-process.js';
import { DRIVER_FLAG, THIS_FILE as LIGHT_BANK_FILE, type DriverMessage, type DriverStart } from './light-bank.js';

export class LightBanks {
  private constructor(private readonly driver: DriverProcess<DriverMessage>) {}

  static spawn(): LightBanks {
    return new LightBanks(new DriverProcess(LIGHT_BANK_FILE, DRIVER_FLAG, 'light-bank driver'));
  }

  get pid(): number | undefined {
    return this.driver.pid;
  }

  start(cfg: Omit<DriverStart, 'type'>) {
    return this.driver.request({ type: 'start', ...cfg }, 'ready');
  }

  report() {
    return this.driver.request({ type: 'report' }, 'timings');
  }

  /**
   * An HTTP POST made by the child process, for a benchmark that measures the aggregator's CPU in
   * its own process: the admin's HTTP client is not the aggregator (status 0: the request failed).
   */
  post(url: string, headers: Record<string, string>, body?: string) {
    return this.driver.request({ type: 'post', url, headers, ...(body !== undefined ? { body } : {}) }, 'posted');
  }

  stop(): Promise<void> {
    return this.driver.stop();
  }
}
