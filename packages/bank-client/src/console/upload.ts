/**
 * Uploads to the bank console (scoring, account reports, anonymisation): one way to answer a bad
 * request, and one way to take a multipart file, spooled to disk at most `maxUploadBytes` long
 * (mode 0600 in a 0700 directory of the bank's state; the caller removes it when done, and the
 * console empties the spool when it starts: clearSpool).
 *
 * A gzip upload is decompressed into the spool as it is taken, and the limit applies to the CSV
 * it holds: counting only the compressed bytes let an 860 KB upload unpack into 177 MB of rows
 * held in memory (a decompression bomb; 1,000:1 and more is easy), past any limit set.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isGzipFile } from '@finsecure/common/data';

/** Answers `status` with `{ error, message, ...extra }`. */
export function bad(reply: FastifyReply, status: number, error: string, message: string, extra: object = {}) {
  return reply.code(status).send({ error, message, ...extra });
}

/**
 * Empties the upload spool (made 0700 if missing, or set to 0700) and returns how many entries
 * it removed. Called once at console start, before any upload is taken: a spool file is the raw
 * upload in clear (transaction ids, amounts; it is not sealed, since it is read straight back
 * by the CSV loader), removed in the request's `finally`, and a crash or kill -9 in the middle
 * of an upload never reaches it. Nothing in the spool outlives the process that wrote it, so
 * whatever is there at start is such a leftover. One console per state directory is assumed
 * (the daemon's `--console-port` or `finsecure-bank console`, not both).
 */
export async function clearSpool(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const names = await readdir(dir);
  for (const n of names) await rm(path.join(dir, n), { recursive: true, force: true });
  return names.length;
}

export interface SpoolOptions {
  spoolDir: string;
  maxUploadBytes: number;
  /** Start of the spool file's name ("upload", "accounts", ...). */
  prefix: string;
  /** What to call the file in messages ("the CSV", "the file"). */
  what?: string;
}

/** How long after a request's body ended its file part may still be writing (ms). */
const UPLOAD_END_GRACE_MS = 5_000;

class TruncatedUpload extends Error {
  constructor(name: string) {
    super(`${name}: the upload ended without the multipart body's closing boundary (cut short?); send it again`);
  }
}

/**
 * Streams the multipart field "file" of `req` to a new spool file, decompressed when it is gzip.
 * Returns its path and the upload's base name (at most 200 characters), or null after answering
 * 415 (not multipart), 400 (no file, a body the parser cannot read, an upload cut short before its
 * closing boundary, or a gzip that does not decompress) or 413 (over
 * `maxUploadBytes`, compressed or decompressed; the partial file removed). Other errors are thrown.
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
      'unsupported_media_type',
      `send ${o.what ?? 'the file'} as multipart/form-data in a field named "file"`,
    );
    return null;
  }
  let part: Awaited<ReturnType<FastifyRequest['file']>>;
  try {
    part = await req.file();
  } catch (err) {
    // A body the multipart parser cannot read (no boundary, a malformed header): the sender's error.
    void bad(reply, 400, 'bad_multipart', `not a readable multipart/form-data body: ${(err as Error).message}`);
    return null;
  }
  if (!part) {
    void bad(reply, 400, 'no_file', 'no file in the upload (multipart field "file")');
    return null;
  }
  const name = path.basename(part.filename || 'upload.csv').slice(0, 200);
  await mkdir(o.spoolDir, { recursive: true, mode: 0o700 });
  const file = path.join(o.spoolDir, `${o.prefix}-${randomBytes(8).toString('hex')}.csv`);
  const tooLarge = () => {
    void bad(reply, 413, 'payload_too_large', `${name} is larger than the upload limit of ${o.maxUploadBytes} bytes`, {
      limitBytes: o.maxUploadBytes,
    });
    return null;
  };
  // The request's body has all arrived (or the client left) but the file part is still open: its
  // closing boundary never came, and the parser would wait for it for ever, holding the spool file.
  // What arrived is written within moments of the body's end; after UPLOAD_END_GRACE_MS it is cut.
  const stream = part.file;
  const sink = createWriteStream(file, { mode: 0o600 });
  let cutTimer: NodeJS.Timeout | undefined;
  // The parser may already have destroyed the part without an error, which leaves the pipeline
  // waiting: the cut settles the wait itself.
  let cutShort!: (err: Error) => void;
  const wasCut = new Promise<never>((_, reject) => (cutShort = reject));
  const cut = () => {
    const err = new TruncatedUpload(name);
    stream.destroy(err);
    sink.destroy();
    cutShort(err);
  };
  const afterEnd = () => void (cutTimer ??= setTimeout(cut, UPLOAD_END_GRACE_MS));
  if (req.raw.readableEnded) afterEnd();
  else req.raw.once('end', afterEnd);
  req.raw.once('close', afterEnd);
  try {
    await Promise.race([pipeline(stream, sink), wasCut]);
  } catch (err) {
    await rm(file, { force: true });
    if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE' || stream.truncated) return tooLarge();
    if (err instanceof TruncatedUpload) {
      void bad(reply, 400, 'truncated_upload', err.message);
      return null;
    }
    throw err;
  } finally {
    clearTimeout(cutTimer);
    req.raw.off('end', afterEnd);
    req.raw.off('close', afterEnd);
  }
  if (part.file.truncated) {
    await rm(file, { force: true });
    return tooLarge();
  }
  // The spool file's name ends in .csv: this reads its first bytes (gzip's magic, RFC 1952: 1f 8b).
  if (!(await isGzipFile(file))) return { file, name };
  const plain = `${file}.plain`;
  try {
    await pipeline(
      createReadStream(file),
      createGunzip(),
      byteLimit(o.maxUploadBytes),
      createWriteStream(plain, { mode: 0o600 }),
    );
  } catch (err) {
    await rm(plain, { force: true });
    await rm(file, { force: true });
    if (err instanceof TooLarge) {
      const message = `${name} decompresses to more than the upload limit of ${o.maxUploadBytes} bytes`;
      void bad(reply, 413, 'payload_too_large', message, { limitBytes: o.maxUploadBytes });
      return null;
    }
    void bad(reply, 400, 'bad_gzip', `${name}: cannot decompress: ${(err as Error).message}`);
    return null;
  }
  await rm(file, { force: true });
  // The readers decompress what starts like gzip: a gzip inside the gzip would be unpacked there,
  // past the limit. One layer is what a CSV export has.
  if (await isGzipFile(plain)) {
    await rm(plain, { force: true });
    void bad(reply, 400, 'nested_gzip', `${name} holds another gzip file: upload the CSV compressed once`);
    return null;
  }
  await rename(plain, file);
  return { file, name };
}

class TooLarge extends Error {}

/** Passes bytes through until more than `max` have gone by, then fails with TooLarge. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max) done(new TooLarge(`more than ${max} bytes`));
      else done(null, chunk);
    },
  });
}
