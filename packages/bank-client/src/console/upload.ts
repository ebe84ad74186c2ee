/**
 * Uploads to the bank console (scoring, account reports, anonymisation): one way to answer a bad
 * request, and one way to take a multipart file, spooled to disk at most `maxUploadBytes` long
 * (mode 0600 in a 0700 directory of the bank's state; the caller removes it when done).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Answers `status` with `{ error, message, ...extra }`. */
export function bad(reply: FastifyReply, status: number, error: string, message: string, extra: object = {}) {
  return reply.code(status).send({ error, message, ...extra });
}

export interface SpoolOptions {
  spoolDir: string;
  maxUploadBytes: number;
  /** Start of the spool file's name ("upload", "accounts", ...). */
  prefix: string;
  /** What to call the file in messages ("the CSV", "the file"). */
  what?: string;
}

/**
 * Streams the multipart field "file" of `req` to a new spool file. Returns its path and the
 * upload's base name (at most 200 characters), or null after answering 415 (not multipart), 400
 * (no file) or 413 (over `maxUploadBytes`; the partial file removed). Other errors are thrown.
 */
export async function spoolUpload(
  req: FastifyRequest,
  reply: FastifyReply,
  o: SpoolOptions,
): Promise<{ file: string; name: string } | null> {
  if (!req.isMultipart()) {
    void bad(
      reply,
      415,
      'not_multipart',
      `send ${o.what ?? 'the file'} as multipart/form-data in a field named "file"`,
    );
    return null;
  }
  const part = await req.file();
  if (!part) {
    void bad(reply, 400, 'no_file', 'no file in the upload (multipart field "file")');
    return null;
  }
  const name = path.basename(part.filename || 'upload.csv').slice(0, 200);
  await mkdir(o.spoolDir, { recursive: true, mode: 0o700 });
  const file = path.join(o.spoolDir, `${o.prefix}-${randomBytes(8).toString('hex')}.csv`);
  const tooLarge = () => {
    void bad(reply, 413, 'too_large', `${name} is larger than the upload limit of ${o.maxUploadBytes} bytes`, {
      limitBytes: o.maxUploadBytes,
    });
    return null;
  };
  try {
    await pipeline(part.file, createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    await rm(file, { force: true });
    if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE' || part.file.truncated) return tooLarge();
    throw err;
  }
  if (part.file.truncated) {
    await rm(file, { force: true });
    return tooLarge();
  }
  return { file, name };
}
