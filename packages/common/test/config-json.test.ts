/**
 * A config file that is not JSON is reported as "file:line:column" (common/config
 * readJsonObjectFile), with V8's reason but never the file's text: a config file can hold
 * secrets, and the message ends up in logs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonSyntaxError, readJsonObjectFile } from '../src/config/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-config-json-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function read(text: string): string {
  const file = path.join(dir, 'config.json');
  writeFileSync(file, text);
  try {
    readJsonObjectFile(file, (m) => new Error(m));
  } catch (err) {
    return (err as Error).message.replace(file, 'config.json');
  }
  throw new Error('read without error');
}

describe('config files with a byte-order mark', () => {
  it('reads them (Windows editors write one), and places errors as without it', () => {
    const file = path.join(dir, 'bom.json');
    writeFileSync(file, '\uFEFF{"port": 8080}\n');
    expect(readJsonObjectFile(file, (m) => new Error(m))).toEqual({ port: 8080 });
    expect(read('\uFEFF{"secure": tru}')).toBe("config file config.json:1:12 is not valid JSON: Unexpected token '}'");
  });
});

describe('config files that are not JSON', () => {
  it('names the line and column of a trailing comma, a missing value, a bad literal', () => {
    expect(read('{\n  "port": 8080,\n}\n')).toBe(
      'config file config.json:3:1 is not valid JSON: Expected double-quoted property name',
    );
    expect(read('{\n  "rules": {\n    "rounds": ,\n  }\n}')).toMatch(
      /^config file config\.json:3:15 is not valid JSON: /,
    );
    expect(read('{"secure": tru}')).toBe("config file config.json:1:12 is not valid JSON: Unexpected token '}'");
    expect(read('')).toBe('config file config.json:1:1 is not valid JSON: Unexpected end of JSON input');
  });

  it('never quotes the file: a token in it stays out of the message', () => {
    const message = read('{"adminToken": "s3cr3t-token-value", "port": 80 80}');
    expect(message).toMatch(/^config file config\.json:1:49 is not valid JSON/);
    expect(message).not.toContain('s3cr3t');
    // Past the start of the file V8 quotes an excerpt ('..."token": ,\n}" is not valid JSON'): dropped too.
    const far = read('{\n  "server": "ws://h:1/ws/bank",\n  "token": "s3cr3t-token-value",\n  "testFraction": ,\n}\n');
    expect(far).toBe("config file config.json:4:19 is not valid JSON: Unexpected token ','");
    // An unquoted token in a longer file: V8's excerpt is cut at both ends ('..."token": fsb_9f"...').
    const unquoted = read(
      `{\n  "server": "ws://h:1/ws/bank",\n  "bankId": "bank-a",\n  "token": fsb_9f8e7d6c5b4a39281706f5e4d3c2b1a0,\n  "data": "${'x'.repeat(60)}.csv"\n}\n`,
    );
    expect(unquoted).toBe('config file config.json:4:12 is not valid JSON: Unexpected token');
  });

  it('a file nested too deeply to place the fault in is still a clear error, not a stack overflow', () => {
    expect(read('['.repeat(200_000))).toMatch(/^config file config\.json is not valid JSON: \S/);
  });

  it('a top level that is not an object is named as such', () => {
    expect(read('[1, 2]')).toBe('config file config.json is not valid JSON: top level must be an object');
  });

  it('jsonSyntaxError places faults V8 gives no position for', () => {
    const text = '{\n "x": [1, 2,, 3]\n}';
    let err: Error | null = null;
    try {
      JSON.parse(text);
    } catch (e) {
      err = e as Error;
    }
    expect(jsonSyntaxError(text, err!)).toEqual({ where: ':2:13', reason: "Unexpected token ','" });
  });
});
