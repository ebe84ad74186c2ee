/**
 * A benchmark's driver child process (the light clients of light-bank.ts and light-secagg-bank.ts)
 * with a promise-based IPC API. The child is `file` run with `flag`, under the same TypeScript
 * loader (process.execArgv carries tsx's flags). Each request gets one answer of the type it
 * expects; answers of a type come in the order of their requests, so each goes to the oldest
 * request waiting for that type (an answer that takes longer, such as an HTTP request's, may come
 * after a later request's). `stop()` asks the child to close, and kills it after 5 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export class DriverProcess<M extends { type: string }> {
  /** Requests waiting for their answer, oldest first, each with the answer type it expects. */
  private readonly waiting: { expect: M['type']; answer: (m: M) => void }[] = [];
  private readonly child: ChildProcess;

  constructor(
    file: string,
    flag: string,
    /** Named in the error when the child exits with requests waiting. */
    private readonly name: string,
  ) {
    this.child = spawn(process.execPath, [...process.execArgv.filter((a) => a !== '--expose-gc'), file, flag], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: M) => {
      const i = this.waiting.findIndex((w) => w.expect === m.type);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.answer(m);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends `msg` and resolves with the next answer of type `expect`; rejects if the child exits first. */
  request<T extends M['type']>(msg: object, expect: T): Promise<Extract<M, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${this.name} exited (${code})`));
      this.child.once('exit', onExit);
      this.waiting.push({
        expect,
        answer: (m) => {
          this.child.off('exit', onExit);
          resolve(m as Extract<M, { type: T }>);
        },
      });
      this.child.send(msg);
    });
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
