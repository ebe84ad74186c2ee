/**
 * The parent side of the light bank clients (light-bank.ts): `LightBanks.spawn()` starts the
 * driver in a child process, and `start()`, `report()`, `post()` and `stop()` talk to it over IPC.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { DRIVER_FLAG, THIS_FILE as LIGHT_BANK_FILE, type DriverMessage, type DriverStart } from './light-bank.js';

/**
 * A child process running LightBankDriver, with a promise-based IPC API. Each request gets one
 * answer of its own type (`ready`, `timings`, `posted`); answers of a type come in the order of
 * their requests, so each goes to the oldest request waiting for that type.
 */
export class LightBanks {
  /** Requests waiting for their answer, oldest first, each with the answer type it expects. */
  private readonly waiting: { expect: DriverMessage['type']; answer: (m: DriverMessage) => void }[] = [];

  private constructor(private readonly child: ChildProcess) {
    // The oldest request expecting this answer's type gets it: a `post` is answered once its HTTP
    // request ends, possibly after a later `report`.
    child.on('message', (m: DriverMessage) => {
      const i = this.waiting.findIndex((w) => w.expect === m.type);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.answer(m);
    });
  }

  static spawn(): LightBanks {
    // process.execArgv carries tsx's loader flags, so the child runs the same TypeScript.
    const child = spawn(
      process.execPath,
      [...process.execArgv.filter((a) => a !== '--expose-gc'), LIGHT_BANK_FILE, DRIVER_FLAG],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    return new LightBanks(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private request<T extends DriverMessage['type']>(
    msg: object,
    expect: T,
  ): Promise<Extract<DriverMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`light-bank driver exited (${code})`));
      this.child.once('exit', onExit);
      this.waiting.push({
        expect,
        answer: (m) => {
          this.child.off('exit', onExit);
          resolve(m as Extract<DriverMessage, { type: T }>);
        },
      });
      this.child.send(msg);
    });
  }

  start(cfg: Omit<DriverStart, 'type'>) {
    return this.request({ type: 'start', ...cfg }, 'ready');
  }

  report() {
    return this.request({ type: 'report' }, 'timings');
  }

  /**
   * An HTTP POST made by the child process, for a benchmark that measures the aggregator's CPU in
   * its own process: the admin's HTTP client is not the aggregator (status 0: the request failed).
   */
  post(url: string, headers: Record<string, string>, body?: string) {
    return this.request({ type: 'post', url, headers, ...(body !== undefined ? { body } : {}) }, 'posted');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || !this.child.connected) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
